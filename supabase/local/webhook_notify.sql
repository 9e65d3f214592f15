-- Local stand-in for the pg_net webhook (supabase/migrations/*_webhook.sql): the same events, the same payload, sent
-- as NOTIFY on channel longhaul_webhook after commit; local/supabase/webhookBridge.ts posts it to the Function App.
-- Never applied to a Supabase database.

create or replace function longhaul.jobs_webhook_notify() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_notify('longhaul_webhook', longhaul.webhook_payload(tg_op, new, case when tg_op = 'UPDATE' then old else null end)::text);
  return null;
end
$$;

drop trigger if exists jobs_webhook_insert on public.jobs;
drop trigger if exists jobs_webhook_retry on public.jobs;
create trigger jobs_webhook_insert after insert on public.jobs for each row execute function longhaul.jobs_webhook_notify();
create trigger jobs_webhook_retry after update of attempt on public.jobs for each row
  when (new.attempt > old.attempt) execute function longhaul.jobs_webhook_notify();
