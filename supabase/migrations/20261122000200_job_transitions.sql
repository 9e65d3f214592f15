-- longhaul: the job state machine. Every transition is a SQL function that checks the current status and writes an
-- event; TypeScript calls these and never updates status columns itself.
--   pending -> queued -> running -> completed | failed | cancelled ;  pending|queued -> failed | cancelled ;
--   failed|cancelled -> pending (retry: attempt + 1, resumes unfinished chunks)
-- Error codes raised here (mapped to HTTP by shared/errors.ts): LH400 invalid input, LH402 insufficient credits,
-- LH404 no such job, LH409 illegal transition.

-- Helpers ------------------------------------------------------------------------------------------------------------

create function longhaul.log_event(p_job public.jobs, p_from text, p_actor text, p_detail jsonb default null)
returns void
language sql
set search_path = ''
as $$
  insert into public.job_events (job_id, user_id, attempt, from_status, to_status, actor, detail)
  values (p_job.id, p_job.user_id, p_job.attempt, p_from, p_job.status, p_actor, p_detail)
$$;
comment on function longhaul.log_event is 'Appends one transition to public.job_events.';

create function longhaul.apply_credit(p_user uuid, p_job uuid, p_attempt integer, p_entry text, p_amount bigint, p_reason text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint;
  v_id bigint;
begin
  if p_amount = 0 then
    return false;
  end if;
  insert into public.credit_accounts (user_id) values (p_user) on conflict (user_id) do nothing;
  select balance into v_balance from public.credit_accounts where user_id = p_user for update;
  if v_balance + p_amount < 0 then
    raise exception using errcode = 'LH402',
      message = format('insufficient credits: this job costs %s credits and the balance is %s', -p_amount, v_balance);
  end if;
  -- The unique index on (job_id, attempt, entry) makes a second charge or refund of the same attempt a no-op.
  insert into public.credit_ledger (user_id, job_id, attempt, entry, amount, balance_after, reason)
  values (p_user, p_job, p_attempt, p_entry, p_amount, v_balance + p_amount, p_reason)
  on conflict (job_id, attempt, entry) where entry in ('charge', 'refund') do nothing
  returning id into v_id;
  if v_id is null then
    return false;
  end if;
  update public.credit_accounts set balance = v_balance + p_amount, updated_at = now() where user_id = p_user;
  return true;
end
$$;
comment on function longhaul.apply_credit is 'Moves credits with a ledger row; returns false when this charge/refund of the job attempt was already applied. Raises LH402 when the balance would go negative.';

create function longhaul.grant_credits(p_user uuid, p_amount bigint, p_reason text default 'grant')
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint;
begin
  if p_amount <= 0 then
    raise exception using errcode = 'LH400', message = 'a grant must be a positive number of credits';
  end if;
  insert into public.credit_accounts (user_id) values (p_user) on conflict (user_id) do nothing;
  update public.credit_accounts set balance = balance + p_amount, updated_at = now()
  where user_id = p_user returning balance into v_balance;
  insert into public.credit_ledger (user_id, entry, amount, balance_after, reason)
  values (p_user, 'grant', p_amount, v_balance, p_reason);
  return v_balance;
end
$$;
comment on function longhaul.grant_credits is 'Adds credits to a user''s account (operators, sign-up bonuses, the local demo user).';

create function longhaul.job_units(p_kind text, p_input jsonb)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
  v_units bigint;
begin
  -- Each kind ships longhaul.units_<kind>(jsonb) in its own migration: adding a kind changes no engine function.
  execute format('select longhaul.%I($1)', 'units_' || p_kind) into v_units using p_input;
  return v_units;
end
$$;
comment on function longhaul.job_units is 'Billable units of a job input, by the kind''s longhaul.units_<kind>(input).';

create function longhaul.refund_due(p_job public.jobs)
returns bigint
language sql
stable
set search_path = ''
as $$
  -- What this attempt charged for work that has not been done. Nothing done at all: the whole charge (including any
  -- minimum price) comes back.
  select case
    when r.units_done = 0 then coalesce(-c.amount, 0)
    else least(coalesce(-c.amount, 0), greatest(r.units_total - r.units_done, 0) * r.credits_per_unit)
  end
  from longhaul.job_runs r
  left join public.credit_ledger c on c.job_id = p_job.id and c.attempt = p_job.attempt and c.entry = 'charge'
  where r.job_id = p_job.id
$$;
comment on function longhaul.refund_due is 'Credits to return when an attempt ends without finishing: units not done x the price at submission, capped at the attempt''s charge.';

create function longhaul.refund(p_job public.jobs, p_reason text)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_amount bigint := coalesce(longhaul.refund_due(p_job), 0);
begin
  if v_amount > 0 and longhaul.apply_credit(p_job.user_id, p_job.id, p_job.attempt, 'refund', v_amount, p_reason) then
    update public.jobs set credits_refunded = credits_refunded + v_amount where id = p_job.id;
    return v_amount;
  end if;
  return 0;
end
$$;
comment on function longhaul.refund is 'Refunds the unprocessed part of the job''s current attempt, at most once (ledger unique index).';

create function longhaul.get_job(p_job uuid, p_lock boolean default true)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  if p_lock then
    select * into v_job from public.jobs where id = p_job for update;
  else
    select * into v_job from public.jobs where id = p_job;
  end if;
  if not found then
    raise exception using errcode = 'LH404', message = format('job %s not found', p_job);
  end if;
  return v_job;
end
$$;
comment on function longhaul.get_job is 'The job row, locked for a transition; LH404 when it does not exist.';

-- Submission ---------------------------------------------------------------------------------------------------------

create function longhaul.jobs_before_insert()
returns trigger
language plpgsql
-- security definer: charging writes credit_accounts and credit_ledger, which the inserting user may only read.
security definer
set search_path = ''
as $$
declare
  v_pricing public.job_pricing;
  v_units bigint;
  v_price bigint;
begin
  select * into v_pricing from public.job_pricing where kind = new.kind;
  if not found then
    raise exception using errcode = 'LH400',
      message = format('kind: unknown job kind "%s"', new.kind),
      hint = 'known kinds: ' || coalesce((select string_agg(kind, ', ' order by kind) from public.job_pricing), 'none');
  end if;
  if new.input is null or jsonb_typeof(new.input) <> 'object' then
    raise exception using errcode = 'LH400', message = 'input: must be a JSON object';
  end if;
  if new.user_id is null then
    raise exception using errcode = 'LH400', message = 'user_id: a job needs an owner (sign in, or set user_id as the service role)';
  end if;
  if new.idempotency_key is not null
     and exists (select 1 from public.jobs where user_id = new.user_id and idempotency_key = new.idempotency_key) then
    -- Raised before charging: the duplicate must not cost anything.
    raise exception using errcode = '23505', constraint = 'jobs_idempotency',
      message = 'a job with this idempotency_key already exists';
  end if;
  -- Engine-owned columns start from scratch whoever inserts (the service role too).
  new.status := 'pending';
  new.attempt := 1;
  new.progress := '{"done": 0, "total": 0, "percent": 0, "stage": null, "message": null}'::jsonb;
  new.result := null;
  new.error := null;
  new.usage := '{}'::jsonb;
  new.credits_refunded := 0;
  new.cancel_requested_at := null;
  new.created_at := now();
  new.queued_at := null;
  new.started_at := null;
  new.finished_at := null;
  new.updated_at := now();
  v_units := longhaul.job_units(new.kind, new.input);
  v_price := greatest(v_pricing.min_credits, v_units * v_pricing.credits_per_unit);
  new.credits_charged := v_price;
  perform longhaul.apply_credit(new.user_id, new.id, 1, 'charge', -v_price, format('%s job: %s %s', new.kind, v_units, v_pricing.unit));
  return new;
end
$$;
comment on function longhaul.jobs_before_insert is 'Makes a plain INSERT a complete submission: validates the kind, prices the input, charges credits (LH402 when short).';

create function longhaul.jobs_after_insert()
returns trigger
language plpgsql
-- security definer: writes the private engine tables the inserting user cannot see.
security definer
set search_path = ''
as $$
declare
  v_pricing public.job_pricing;
begin
  select * into v_pricing from public.job_pricing where kind = new.kind;
  insert into longhaul.job_runs (job_id, units_total, credits_per_unit, min_credits)
  values (new.id, longhaul.job_units(new.kind, new.input), v_pricing.credits_per_unit, v_pricing.min_credits);
  insert into longhaul.job_deliveries (job_id, attempt) values (new.id, 1);
  perform longhaul.log_event(new, null, coalesce((select auth.uid())::text, 'system:' || current_user), null);
  return null;
end
$$;
comment on function longhaul.jobs_after_insert is 'Creates the job''s counters and its first outbox row, and logs the submission.';

create trigger jobs_before_insert before insert on public.jobs for each row execute function longhaul.jobs_before_insert();
create trigger jobs_after_insert after insert on public.jobs for each row execute function longhaul.jobs_after_insert();

-- Delivery -----------------------------------------------------------------------------------------------------------

create function longhaul.mark_queued(p_job uuid, p_attempt integer, p_actor text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select * into v_job from public.jobs where id = p_job for update;
  if not found then
    return 'missing';
  end if;
  if v_job.attempt <> p_attempt then
    return 'stale';
  end if;
  update longhaul.job_deliveries set enqueued_at = now(), enqueue_count = enqueue_count + 1
  where job_id = p_job and attempt = p_attempt;
  if v_job.status = 'pending' then
    update public.jobs set status = 'queued', queued_at = now(), updated_at = now() where id = p_job returning * into v_job;
    perform longhaul.log_event(v_job, 'pending', p_actor);
  end if;
  return v_job.status;
end
$$;
comment on function longhaul.mark_queued is 'Records that a delivery of the attempt was enqueued; pending -> queued. Returns the status, or missing/stale.';

create function longhaul.acknowledge_delivery(p_job uuid, p_attempt integer)
returns void
language sql
set search_path = ''
as $$
  update longhaul.job_deliveries set acknowledged_at = coalesce(acknowledged_at, now())
  where job_id = p_job and attempt = p_attempt
$$;
comment on function longhaul.acknowledge_delivery is 'The orchestration of this attempt exists: the sweeper stops re-enqueuing it.';

create function longhaul.deliverable(p_job uuid, p_attempt integer)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from public.jobs where id = p_job and attempt = p_attempt and status in ('pending', 'queued', 'running'))
$$;
comment on function longhaul.deliverable is 'Whether a queue message for this attempt should (still) start an orchestration.';

create function longhaul.redeliveries(p_older_than interval, p_limit integer)
returns table (job_id uuid, attempt integer)
language sql
set search_path = ''
as $$
  update longhaul.job_deliveries d set enqueued_at = now(), enqueue_count = d.enqueue_count + 1
  from public.jobs j
  where j.id = d.job_id and j.attempt = d.attempt and j.status in ('pending', 'queued')
    and d.acknowledged_at is null
    and d.created_at < now() - p_older_than
    and (d.enqueued_at is null or d.enqueued_at < now() - p_older_than)
    and (d.job_id, d.attempt) in (
      select x.job_id, x.attempt from longhaul.job_deliveries x
      where x.acknowledged_at is null and x.created_at < now() - p_older_than
      order by x.created_at limit p_limit
      for update skip locked)
  returning d.job_id, d.attempt
$$;
comment on function longhaul.redeliveries is 'For the sweeper: attempts whose delivery was never acknowledged after the given time, marked as re-enqueued.';

-- Running ------------------------------------------------------------------------------------------------------------

create function longhaul.start_job(p_job uuid, p_attempt integer, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_from text := v_job.status;
begin
  if v_job.attempt <> p_attempt or v_job.status not in ('pending', 'queued', 'running') then
    return v_job;
  end if;
  if v_job.status <> 'running' then
    update public.jobs set status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
    where id = p_job returning * into v_job;
    perform longhaul.log_event(v_job, v_from, p_actor);
  end if;
  return v_job;
end
$$;
comment on function longhaul.start_job is 'pending|queued -> running for the given attempt (idempotent when already running). Returns the job; the caller proceeds only when it is running this attempt.';

create function longhaul.write_progress(p_job uuid, p_stage text, p_message text, p_force boolean)
returns void
language sql
set search_path = ''
as $$
  -- At most four writes a second per job unless forced: each write is a Realtime event for the app's users.
  with r as (
    update longhaul.job_runs set progress_written_at = now(), stage = coalesce(p_stage, stage)
    where job_id = p_job and (p_force or progress_written_at < now() - interval '250 milliseconds')
    returning items_done, items_total, stage
  )
  update public.jobs j set
    progress = jsonb_build_object(
      'done', r.items_done, 'total', r.items_total,
      'percent', case when r.items_total > 0 then round(100.0 * r.items_done / r.items_total, 1) else 0 end,
      'stage', r.stage, 'message', coalesce(p_message, j.progress ->> 'message')),
    updated_at = now()
  from r where j.id = p_job
$$;
comment on function longhaul.write_progress is 'Copies the job''s counters into public.jobs.progress, throttled to 4 writes/s unless forced.';

create function longhaul.add_items_total(p_job uuid, p_items bigint)
returns void
language sql
set search_path = ''
as $$
  update longhaul.job_runs set items_total = items_total + p_items where job_id = p_job
$$;
comment on function longhaul.add_items_total is 'A stage was planned: its items join the progress total.';

create function longhaul.complete_items(p_job uuid, p_items jsonb, p_stage text default null)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_changed integer;
  v_units bigint;
begin
  -- Only items not yet done change, so a re-run chunk (at-least-once delivery) counts nothing twice.
  with incoming as (
    select * from jsonb_to_recordset(p_items) as x(key text, status text, output jsonb, error jsonb, usage jsonb)
  ), changed as (
    update longhaul.job_items i set status = incoming.status, output = incoming.output, error = incoming.error,
      usage = incoming.usage, updated_at = now()
    from incoming
    where i.job_id = p_job and i.key = incoming.key and i.status <> 'done'
    returning i.status, i.units
  )
  select count(*) filter (where status = 'done'), coalesce(sum(units) filter (where status = 'done'), 0)
  into v_changed, v_units from changed;
  if v_changed > 0 then
    update longhaul.job_runs set items_done = items_done + v_changed, units_done = units_done + v_units where job_id = p_job;
    perform longhaul.write_progress(p_job, p_stage, null, false);
  end if;
  return v_changed;
end
$$;
comment on function longhaul.complete_items is 'Stores item results idempotently and advances the done counters (items and billable units) once per item.';

create function longhaul.complete_chunk(p_job uuid, p_stage integer, p_idx integer, p_output jsonb, p_items bigint, p_units bigint, p_stage_name text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_found boolean;
begin
  update longhaul.job_chunks c set status = 'done', output = p_output, cursor = null, error = null,
    done_attempt = (select attempt from public.jobs where id = p_job), updated_at = now()
  where job_id = p_job and stage = p_stage and idx = p_idx and status <> 'done'
  returning true into v_found;
  if v_found and (p_items > 0 or p_units > 0) then
    update longhaul.job_runs set items_done = items_done + p_items, units_done = units_done + p_units where job_id = p_job;
  end if;
  perform longhaul.write_progress(p_job, p_stage_name, null, false);
  return coalesce(v_found, false);
end
$$;
comment on function longhaul.complete_chunk is 'Marks a chunk done once; items/units it carries (kinds without per-item rows) count once.';

create function longhaul.add_usage(p_job uuid, p_usage jsonb)
returns void
language sql
set search_path = ''
as $$
  -- Sums numeric fields: {"requests": 3, "inputTokens": 120, ...}.
  update public.jobs j set usage = (
    select coalesce(jsonb_object_agg(k, coalesce((j.usage ->> k)::numeric, 0) + coalesce((p_usage ->> k)::numeric, 0)), '{}'::jsonb)
    from (select jsonb_object_keys(j.usage) as k union select jsonb_object_keys(p_usage)) keys
  )
  where j.id = p_job
$$;
comment on function longhaul.add_usage is 'Adds a chunk''s provider usage (requests, tokens, images, seconds) to the job.';

-- Endings ------------------------------------------------------------------------------------------------------------

create function longhaul.complete_job(p_job uuid, p_attempt integer, p_result jsonb, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_refund bigint := 0;
begin
  if v_job.attempt <> p_attempt or v_job.status <> 'running' then
    if v_job.status = 'completed' and v_job.attempt = p_attempt then
      return v_job;
    end if;
    raise exception using errcode = 'LH409', message = format('job %s cannot complete: it is %s (attempt %s)', p_job, v_job.status, v_job.attempt);
  end if;
  perform longhaul.write_progress(p_job, null, null, true);
  update public.jobs set status = 'completed', result = p_result, error = null, finished_at = now(), updated_at = now()
  where id = p_job returning * into v_job;
  -- A job can complete with some work not done (e.g. images blocked by a safety filter): those units come back.
  if exists (select 1 from longhaul.job_runs r where r.job_id = p_job and r.units_done < r.units_total) then
    v_refund := longhaul.refund(v_job, 'job completed: units that could not be produced refunded');
    select * into v_job from public.jobs where id = p_job;
  end if;
  perform longhaul.log_event(v_job, 'running', p_actor, case when v_refund > 0 then jsonb_build_object('refunded', v_refund) end);
  return v_job;
end
$$;
comment on function longhaul.complete_job is 'running -> completed with the result summary (idempotent for the same attempt); units that were not produced are refunded.';

create function longhaul.fail_job(p_job uuid, p_attempt integer, p_error jsonb, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_from text := v_job.status;
  v_refund bigint;
begin
  if v_job.attempt <> p_attempt or v_job.status not in ('pending', 'queued', 'running') then
    return v_job; -- already ended (or a newer attempt runs): failing again must not refund again
  end if;
  perform longhaul.write_progress(p_job, null, null, true);
  update public.jobs set status = 'failed', error = p_error, finished_at = now(), cancel_requested_at = null, updated_at = now()
  where id = p_job returning * into v_job;
  v_refund := longhaul.refund(v_job, 'job failed: unprocessed work refunded');
  select * into v_job from public.jobs where id = p_job;
  perform longhaul.log_event(v_job, v_from, p_actor, jsonb_build_object('error', p_error, 'refunded', v_refund));
  return v_job;
end
$$;
comment on function longhaul.fail_job is 'pending|queued|running -> failed and refund of the unprocessed work, once.';

create function longhaul.request_cancel(p_job uuid, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_from text := v_job.status;
  v_refund bigint;
begin
  if v_job.status in ('completed', 'failed', 'cancelled') then
    raise exception using errcode = 'LH409', message = format('job is already %s', v_job.status);
  end if;
  if v_job.status = 'running' then
    -- Cooperative: the orchestration stops scheduling, lets in-flight chunks finish, then calls finish_cancel.
    update public.jobs set cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
    where id = p_job returning * into v_job;
    return v_job;
  end if;
  update public.jobs set status = 'cancelled', finished_at = now(), updated_at = now() where id = p_job returning * into v_job;
  -- No orchestration will start for this attempt: a late queue message finds the job cancelled.
  perform longhaul.acknowledge_delivery(p_job, v_job.attempt);
  v_refund := longhaul.refund(v_job, 'job cancelled before it started');
  select * into v_job from public.jobs where id = p_job;
  perform longhaul.log_event(v_job, v_from, p_actor, jsonb_build_object('refunded', v_refund));
  return v_job;
end
$$;
comment on function longhaul.request_cancel is 'Cancels a waiting job at once (full refund) or asks a running one to stop; LH409 when already finished.';

create function longhaul.finish_cancel(p_job uuid, p_attempt integer, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_refund bigint;
begin
  if v_job.attempt <> p_attempt or v_job.status <> 'running' then
    return v_job;
  end if;
  perform longhaul.write_progress(p_job, null, 'cancelled', true);
  update public.jobs set status = 'cancelled', finished_at = now(), updated_at = now() where id = p_job returning * into v_job;
  v_refund := longhaul.refund(v_job, 'job cancelled: unprocessed work refunded');
  select * into v_job from public.jobs where id = p_job;
  perform longhaul.log_event(v_job, 'running', p_actor, jsonb_build_object('refunded', v_refund));
  return v_job;
end
$$;
comment on function longhaul.finish_cancel is 'running -> cancelled once in-flight chunks are done, refunding the work that did not run.';

create function longhaul.retry_job(p_job uuid, p_actor text)
returns public.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job public.jobs := longhaul.get_job(p_job);
  v_from text := v_job.status;
  v_runs longhaul.job_runs;
  v_price bigint;
begin
  if v_job.status not in ('failed', 'cancelled') then
    raise exception using errcode = 'LH409', message = format('only failed or cancelled jobs can be retried; this job is %s', v_job.status);
  end if;
  select * into v_runs from longhaul.job_runs where job_id = p_job;
  v_price := case when v_runs.units_done = 0 then greatest(v_runs.min_credits, v_runs.units_total * v_runs.credits_per_unit)
                  else greatest(v_runs.units_total - v_runs.units_done, 0) * v_runs.credits_per_unit end;
  perform longhaul.apply_credit(v_job.user_id, p_job, v_job.attempt + 1, 'charge', -v_price, format('retry of %s job (attempt %s)', v_job.kind, v_job.attempt + 1));
  -- Unfinished work becomes runnable again; done chunks and items are kept, so the new attempt resumes.
  update longhaul.job_chunks set status = 'pending', failures = 0, attempts = 0, error = null, updated_at = now()
  where job_id = p_job and status <> 'done';
  update longhaul.job_items set status = 'pending', error = null, updated_at = now()
  where job_id = p_job and status in ('failed', 'skipped');
  update public.jobs set status = 'pending', attempt = attempt + 1, error = null, result = null, finished_at = null,
    queued_at = null, cancel_requested_at = null, credits_charged = credits_charged + v_price, updated_at = now()
  where id = p_job returning * into v_job;
  insert into longhaul.job_deliveries (job_id, attempt) values (p_job, v_job.attempt);
  perform longhaul.log_event(v_job, v_from, p_actor, jsonb_build_object('charged', v_price));
  return v_job;
end
$$;
comment on function longhaul.retry_job is 'failed|cancelled -> pending as a new attempt, charging only the unfinished units; LH409 otherwise, LH402 when short of credits.';

-- User-callable RPCs (supabase-js: supabase.rpc('cancel_job', {job_id})) ------------------------------------------------

create function longhaul.caller_owns(p_job uuid)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  -- Someone else's job answers exactly like a missing one: its existence is not the caller's business.
  if not exists (select 1 from public.jobs j where j.id = p_job and j.user_id = (select auth.uid())) then
    raise exception using errcode = 'LH404', message = format('job %s not found', p_job);
  end if;
  return (select auth.uid())::text;
end
$$;
comment on function longhaul.caller_owns is 'The caller''s user id when they own the job; LH404 otherwise.';

create function public.cancel_job(job_id uuid)
returns public.jobs
language sql
-- security definer: users may not update jobs; longhaul.caller_owns checks ownership instead.
security definer
set search_path = ''
as $$
  select longhaul.request_cancel(cancel_job.job_id, longhaul.caller_owns(cancel_job.job_id))
$$;
comment on function public.cancel_job is 'Cancels one of the caller''s jobs (see longhaul.request_cancel).';

create function public.retry_job(job_id uuid)
returns public.jobs
language sql
-- security definer: users may not update jobs or charge credits directly; longhaul.caller_owns checks ownership.
security definer
set search_path = ''
as $$
  select longhaul.retry_job(retry_job.job_id, longhaul.caller_owns(retry_job.job_id))
$$;
comment on function public.retry_job is 'Retries one of the caller''s failed or cancelled jobs (see longhaul.retry_job).';

create function public.job_queue_position(job_id uuid)
returns bigint
language sql
stable
-- security definer: the position counts every user's waiting jobs, which RLS hides from the caller; only the count
-- leaves the function.
security definer
set search_path = ''
as $$
  select (select count(*) + 1 from public.jobs w
          where w.status in ('pending', 'queued')
            and (w.priority > j.priority or (w.priority = j.priority and (w.created_at, w.id) < (j.created_at, j.id))))
  from public.jobs j
  where j.id = job_queue_position.job_id and j.status in ('pending', 'queued')
    and (j.user_id = (select auth.uid()) or (select auth.uid()) is null)
$$;
comment on function public.job_queue_position is 'Position (1 = next) of a waiting job among all waiting jobs; null when the job is not waiting or not the caller''s.';

revoke all on function public.cancel_job(uuid), public.retry_job(uuid), public.job_queue_position(uuid) from public, anon;
grant execute on function public.cancel_job(uuid), public.retry_job(uuid), public.job_queue_position(uuid) to authenticated, service_role;
revoke all on all functions in schema longhaul from public, anon, authenticated;
grant execute on all functions in schema longhaul to service_role;

-- Views (security_invoker: a user sees only rows RLS lets them see) -------------------------------------------------------

create view public.job_stats with (security_invoker = true) as
  select kind, status, count(*) as jobs, sum(credits_charged) as credits_charged, sum(credits_refunded) as credits_refunded,
         max(created_at) as last_created_at
  from public.jobs group by kind, status;
comment on view public.job_stats is 'Job counts and credits by kind and status.';

create view public.active_jobs with (security_invoker = true) as
  select id, user_id, kind, status, attempt, progress, created_at, started_at, cancel_requested_at
  from public.jobs where status in ('queued', 'running');
comment on view public.active_jobs is 'Jobs queued or running now, with their progress.';

create view public.pending_jobs_queue with (security_invoker = true) as
  select id, user_id, kind, status, priority, created_at,
         row_number() over (order by priority desc, created_at, id) as position
  from public.jobs where status in ('pending', 'queued');
comment on view public.pending_jobs_queue is 'Jobs waiting to start, in the order they are expected to start (priority, then age).';

revoke all on public.job_stats, public.active_jobs, public.pending_jobs_queue from anon;
grant select on public.job_stats, public.active_jobs, public.pending_jobs_queue to authenticated, service_role;

-- Realtime: the app's users follow their jobs' progress where Supabase provides the publication.
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    alter publication supabase_realtime add table public.jobs;
  end if;
end
$$;
