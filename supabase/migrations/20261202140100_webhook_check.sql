-- longhaul: does the installed database webhook agree with the Function App's delivery settings?
-- "Agree" means (docs/deploy.md, "Check the webhook"):
--   installed  the pg_net triggers call longhaul.jobs_webhook_send (not a local stand-in) and pg_net is present;
--   url        the webhook posts to <app url>/api/webhooks/supabase over https;
--   secret     the stored secret is SUPABASE_WEBHOOK_SECRET (compared by SHA-256, so the check never sees it);
--   timeout    a delivery in flight is never re-enqueued: webhook timeout + queue polling (host.json
--              maxPollingInterval, 2 s) < SWEEPER_REDELIVER_AFTER_SECONDS;
--   latency    a lost webhook is healed within 60 s: SWEEPER_REDELIVER_AFTER_SECONDS + sweeper interval <= 60.

create function longhaul.check_webhook(
  p_app_url text,
  p_secret_sha256 text,
  p_redeliver_after_seconds integer,
  p_sweep_interval_seconds integer,
  p_queue_polling_ms integer default 2000
)
returns table (check_name text, ok boolean, detail text)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
  v_timeout integer;
  v_expected text := rtrim(p_app_url, '/') || '/api/webhooks/supabase';
  v_triggers integer;
begin
  select count(*) into v_triggers
  from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_namespace n on n.oid = p.pronamespace
  where t.tgrelid = 'public.jobs'::regclass and t.tgname in ('jobs_webhook_insert', 'jobs_webhook_retry')
    and n.nspname = 'longhaul' and p.proname = 'jobs_webhook_send';
  if to_regclass('longhaul.webhook_config') is null or v_triggers < 2 then
    return query select 'installed', false, 'the pg_net webhook is not installed: run longhaul.install_webhook(url, secret)';
    return;
  end if;
  select c.url, c.secret, c.timeout_ms into v_url, v_secret, v_timeout from longhaul.webhook_config c;
  return query select 'installed', to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null,
    case when to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then 'triggers installed but pg_net is missing' else 'triggers call net.http_post' end;
  return query select 'url', v_url = v_expected and v_url like 'https://%',
    format('webhook posts to %s; expected %s (https)', v_url, v_expected);
  return query select 'secret', encode(sha256(convert_to(v_secret, 'UTF8')), 'hex') = lower(p_secret_sha256),
    'x-webhook-secret compared with SUPABASE_WEBHOOK_SECRET by SHA-256';
  return query select 'timeout', v_timeout + p_queue_polling_ms < p_redeliver_after_seconds * 1000,
    format('webhook timeout %s ms + queue polling %s ms must stay under SWEEPER_REDELIVER_AFTER_SECONDS = %s s', v_timeout, p_queue_polling_ms, p_redeliver_after_seconds);
  return query select 'latency', p_redeliver_after_seconds + p_sweep_interval_seconds <= 60,
    format('a lost webhook is re-enqueued after at most %s s + %s s (promise: 60 s)', p_redeliver_after_seconds, p_sweep_interval_seconds);
end
$$;
comment on function longhaul.check_webhook is 'One row per condition the webhook and the sweeper settings must meet (installed, url, secret, timeout, latency), with ok and a detail naming the values.';
revoke all on function longhaul.check_webhook(text, text, integer, integer, integer) from public, anon, authenticated;
