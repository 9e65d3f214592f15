-- longhaul: the database webhook that hands new jobs (and retries) to the Function App.
-- Supabase database webhooks are pg_net requests sent after commit, fire-and-forget; the outbox
-- (longhaul.job_deliveries) and the sweeper make up for lost ones. Install once per project with
--   select longhaul.install_webhook('https://<app>.azurewebsites.net/api/webhooks/supabase', '<SUPABASE_WEBHOOK_SECRET>');
-- Locally there is no pg_net: supabase/local/webhook_notify.sql turns the same events into NOTIFY and a bridge in
-- local/ posts the identical payload.

create function longhaul.webhook_payload(p_op text, p_new public.jobs, p_old public.jobs)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- Supabase's payload shape. The record leaves out input, result and error: the handler needs the id and attempt
  -- only, and a 100,000-node input would otherwise travel through pg_net's unlogged queue table.
  select jsonb_build_object(
    'type', p_op,
    'table', 'jobs',
    'schema', 'public',
    'record', to_jsonb(p_new) - 'input' - 'result' - 'error',
    'old_record', case when p_old is null then null else to_jsonb(p_old) - 'input' - 'result' - 'error' end
  )
$$;
comment on function longhaul.webhook_payload is 'The body the webhook sends for a job insert or retry: {type, table, schema, record, old_record}.';

create function longhaul.install_webhook(p_url text, p_secret text, p_timeout_ms integer default 5000)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    raise exception using errcode = 'LH400', message = 'pg_net is not installed: enable it (Database > Extensions) first';
  end if;
  if p_secret is null or length(p_secret) < 16 then
    raise exception using errcode = 'LH400', message = 'the webhook secret must be at least 16 characters';
  end if;
  -- The URL and secret live in a private table, not in the trigger definition, so rotating the secret is one update.
  create table if not exists longhaul.webhook_config (id boolean primary key default true check (id), url text not null, secret text not null, timeout_ms integer not null);
  revoke all on longhaul.webhook_config from public, anon, authenticated;
  insert into longhaul.webhook_config (url, secret, timeout_ms) values (p_url, p_secret, p_timeout_ms)
  on conflict (id) do update set url = excluded.url, secret = excluded.secret, timeout_ms = excluded.timeout_ms;

  execute $f$
    create or replace function longhaul.jobs_webhook_send() returns trigger
    language plpgsql
    -- security definer: reads the private webhook_config for inserts made by signed-in users.
    security definer
    set search_path = ''
    as $body$
    declare
      c record;
    begin
      select * into c from longhaul.webhook_config;
      perform net.http_post(
        url := c.url,
        body := longhaul.webhook_payload(tg_op, new, case when tg_op = 'UPDATE' then old else null end),
        headers := jsonb_build_object('content-type', 'application/json', 'x-webhook-secret', c.secret),
        timeout_milliseconds := c.timeout_ms);
      return null;
    end
    $body$
  $f$;
  drop trigger if exists jobs_webhook_insert on public.jobs;
  drop trigger if exists jobs_webhook_retry on public.jobs;
  create trigger jobs_webhook_insert after insert on public.jobs for each row execute function longhaul.jobs_webhook_send();
  create trigger jobs_webhook_retry after update of attempt on public.jobs for each row
    when (new.attempt > old.attempt) execute function longhaul.jobs_webhook_send();
end
$$;
comment on function longhaul.install_webhook is 'Installs (or re-points) the pg_net webhook for job inserts and retries, with the x-webhook-secret header.';
revoke all on function longhaul.install_webhook(text, text, integer) from public, anon, authenticated;
