-- longhaul: operations — maintenance purge of finished jobs, the ETA of a job, and the record of notifications sent.
-- The database owns these decisions: which jobs may be purged (finished, old enough, not the current version of a
-- searchable document), how an ETA is estimated, and that a notification goes out once per job attempt and reason.

-- Maintenance ------------------------------------------------------------------------------------------------------------

create function longhaul.purgeable_jobs(p_finished_before timestamptz, p_limit integer)
returns table (job_id uuid, attempt integer, stages integer, status text, chunks bigint, items bigint, events bigint, files bigint)
language sql
stable
set search_path = ''
as $$
  select j.id, j.attempt,
         (select count(*) from longhaul.job_stages s where s.job_id = j.id)::integer,
         j.status,
         (select count(*) from longhaul.job_chunks c where c.job_id = j.id),
         (select count(*) from longhaul.job_items i where i.job_id = j.id),
         (select count(*) from public.job_events e where e.job_id = j.id),
         (select count(*) from longhaul.job_files f where f.job_id = j.id)
  from public.jobs j
  where j.status in ('completed', 'failed', 'cancelled')
    and j.finished_at < p_finished_before
    -- The current version of a searchable document is user data, not job history: its chunks stay with its job.
    and not exists (select 1 from public.rag_documents d where d.current_job_id = j.id)
  order by j.finished_at, j.id
  limit p_limit
$$;
comment on function longhaul.purgeable_jobs is 'Finished jobs (completed|failed|cancelled) that finished before the cutoff, oldest first, with the rows a purge would delete. Jobs whose rag chunks are a document''s current version are never purgeable.';

create function longhaul.purge_jobs(p_jobs uuid[], p_finished_before timestamptz)
returns table (jobs bigint, chunks bigint, items bigint, events bigint, files bigint)
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
begin
  -- Re-checked under row locks: a job retried (or made current) since it was listed is not deleted.
  select coalesce(array_agg(l.id), '{}') into v_ids
  from (select j.id from public.jobs j
        where j.id = any (p_jobs)
          and j.status in ('completed', 'failed', 'cancelled')
          and j.finished_at < p_finished_before
          and not exists (select 1 from public.rag_documents d where d.current_job_id = j.id)
        for update of j) l;
  return query
  with counts as (
    select (select count(*) from longhaul.job_chunks c where c.job_id = any (v_ids)) as chunks,
           (select count(*) from longhaul.job_items i where i.job_id = any (v_ids)) as items,
           (select count(*) from public.job_events e where e.job_id = any (v_ids)) as events,
           (select count(*) from longhaul.job_files f where f.job_id = any (v_ids)) as files
  ), deleted as (
    -- Chunks, items, events, files, stages, runs, deliveries and notifications go with the job (on delete cascade).
    -- The credit ledger has no foreign key to jobs and is kept: it is the accounting record.
    delete from public.jobs j where j.id = any (v_ids) returning j.id
  )
  select (select count(*) from deleted), counts.chunks, counts.items, counts.events, counts.files from counts;
end
$$;
comment on function longhaul.purge_jobs is 'Deletes the given jobs if they are still finished before the cutoff (and not a document''s current version), with everything that cascades from them; credit_ledger rows are kept. Returns what was deleted.';

-- ETA ------------------------------------------------------------------------------------------------------------------------

create function public.job_eta_seconds(job_id uuid)
returns integer
language plpgsql
stable
-- security definer: a waiting job's estimate uses every user's recent completions of the kind, which RLS hides from the
-- caller; only the number leaves the function.
security definer
set search_path = ''
as $$
declare
  v_job public.jobs;
  v_done numeric;
  v_total numeric;
  v_elapsed numeric;
  v_position bigint;
  v_jobs bigint;
  v_span numeric;
begin
  select * into v_job from public.jobs j
  where j.id = job_eta_seconds.job_id and (j.user_id = (select auth.uid()) or (select auth.uid()) is null);
  if v_job.id is null then
    return null;
  end if;
  if v_job.status = 'running' then
    -- Progress rate so far, extrapolated: elapsed x remaining / done.
    v_done := coalesce((v_job.progress ->> 'done')::numeric, 0);
    v_total := coalesce((v_job.progress ->> 'total')::numeric, 0);
    v_elapsed := extract(epoch from now() - coalesce(v_job.started_at, now()));
    if v_done <= 0 or v_total <= 0 or v_elapsed <= 0 then
      return null;
    end if;
    return greatest(0, ceil(v_elapsed * greatest(v_total - v_done, 0) / v_done))::integer;
  end if;
  if v_job.status in ('pending', 'queued') then
    v_position := public.job_queue_position(v_job.id);
    -- Recent throughput of the kind: the last (up to) 50 completions of the past 24 hours, divided by the wall-clock
    -- span from the first start to the last finish among them (concurrent jobs overlap, so this is jobs/s, not 1/duration).
    select count(*), extract(epoch from max(r.finished_at) - min(r.started_at))
      into v_jobs, v_span
    from (select c.started_at, c.finished_at from public.jobs c
          where c.status = 'completed' and c.kind = v_job.kind and c.finished_at > now() - interval '24 hours'
            and c.started_at is not null
          order by c.finished_at desc limit 50) r;
    if v_position is null or v_jobs = 0 or v_span is null or v_span <= 0 then
      return null;
    end if;
    return ceil(v_position * v_span / v_jobs)::integer;
  end if;
  return null;
end
$$;
comment on function public.job_eta_seconds is 'Estimated seconds until the job finishes: running = elapsed x remaining/done items; pending|queued = queue position / recent completions per second of its kind (last 50 in 24 h); null when unknowable or not the caller''s job.';
revoke all on function public.job_eta_seconds(uuid) from public, anon;
grant execute on function public.job_eta_seconds(uuid) to authenticated, service_role;
create index jobs_kind_finished on public.jobs (kind, finished_at desc) where status = 'completed';

-- Notifications -----------------------------------------------------------------------------------------------------------

create table longhaul.job_notifications (
  job_id uuid not null references public.jobs (id) on delete cascade,
  attempt integer not null,
  reason text not null check (reason in ('failed', 'long_running')),
  created_at timestamptz not null default now(),
  primary key (job_id, attempt, reason)
);
comment on table longhaul.job_notifications is 'One row per notification claimed for a job attempt and reason (NOTIFY_WEBHOOK_URL): the primary key makes "once per attempt" a constraint, whichever process notices first.';
revoke all on longhaul.job_notifications from public, anon, authenticated;
grant all on longhaul.job_notifications to service_role;

create function longhaul.claim_notification(p_job uuid, p_attempt integer, p_reason text)
returns boolean
language sql
set search_path = ''
as $$
  with claimed as (
    insert into longhaul.job_notifications (job_id, attempt, reason) values (p_job, p_attempt, p_reason)
    on conflict do nothing returning 1
  )
  select exists (select 1 from claimed)
$$;
comment on function longhaul.claim_notification is 'Claims the one notification of a job attempt for a reason; true for the first caller only.';

create function longhaul.claim_notifications(p_long_running_after interval, p_failed_since interval, p_limit integer)
returns table (job_id uuid, attempt integer, reason text, kind text, user_id uuid, status text, error jsonb, progress jsonb, running_since timestamptz)
language sql
set search_path = ''
as $$
  with due as (
    select j.id, j.attempt, 'failed'::text as reason, null::timestamptz as running_since
    from public.jobs j
    where j.status = 'failed' and j.finished_at > now() - p_failed_since
    union all
    select j.id, j.attempt, 'long_running', r.since
    from public.jobs j
    cross join lateral (
      -- When this attempt started running (started_at is kept from the first attempt).
      select coalesce((select e.created_at from public.job_events e
                       where e.job_id = j.id and e.attempt = j.attempt and e.to_status = 'running'
                       order by e.id desc limit 1), j.started_at) as since
    ) r
    where j.status = 'running' and p_long_running_after is not null and r.since < now() - p_long_running_after
  ), claimed as (
    insert into longhaul.job_notifications (job_id, attempt, reason)
    select d.id, d.attempt, d.reason from due d
    where not exists (select 1 from longhaul.job_notifications n where n.job_id = d.id and n.attempt = d.attempt and n.reason = d.reason)
    limit p_limit
    on conflict do nothing
    returning job_notifications.job_id, job_notifications.attempt, job_notifications.reason
  )
  select c.job_id, c.attempt, c.reason, j.kind, j.user_id, j.status, j.error, j.progress, d.running_since
  from claimed c
  join public.jobs j on j.id = c.job_id
  join due d on d.id = c.job_id and d.reason = c.reason
$$;
comment on function longhaul.claim_notifications is 'Sweeper: claims notifications due now — failed jobs of the last p_failed_since not yet notified, and attempts running longer than p_long_running_after (null: off) — once per job attempt and reason.';

revoke all on function longhaul.purgeable_jobs(timestamptz, integer), longhaul.purge_jobs(uuid[], timestamptz),
  longhaul.claim_notification(uuid, integer, text), longhaul.claim_notifications(interval, interval, integer)
  from public, anon, authenticated;
grant execute on function longhaul.purgeable_jobs(timestamptz, integer), longhaul.purge_jobs(uuid[], timestamptz),
  longhaul.claim_notification(uuid, integer, text), longhaul.claim_notifications(interval, interval, integer)
  to service_role;
