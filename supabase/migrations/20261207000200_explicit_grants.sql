-- longhaul: every privilege the API roles hold on longhaul's objects, granted here explicitly. Supabase no longer
-- grants new objects in public to anon, authenticated and service_role (projects since 2026-05-30, every project since
-- 2026-10-30), while objects made before keep the old broad grants: so each object is first cleared of whatever the
-- project's defaults gave it, then granted exactly what each role needs. The engine connects as postgres (the owner)
-- and needs none of this.
--   anon           reads prices.
--   authenticated  reads its own jobs, events, balance, ledger and documents (RLS), submits jobs (only the columns a
--                  user chooses), reads the views, calls the RPCs. Sequences and the views' write side are not theirs.
--   service_role   server-side administration through the Data API: reads and writes longhaul's tables (RLS
--                  bypassed), reads the views, calls the RPCs and longhaul's engine functions (granted where each was
--                  created). No TRUNCATE, REFERENCES or TRIGGER for anyone.

revoke all on public.jobs, public.job_events, public.credit_accounts, public.credit_ledger, public.job_pricing,
  public.rag_documents from anon, authenticated, service_role;
grant select on public.job_pricing to anon, authenticated;
grant select on public.jobs, public.job_events, public.credit_accounts, public.credit_ledger, public.rag_documents to authenticated;
grant insert (kind, input, idempotency_key, priority, user_id) on public.jobs to authenticated;
grant select, insert, update, delete on public.jobs, public.job_events, public.credit_accounts, public.credit_ledger,
  public.job_pricing, public.rag_documents to service_role;

-- Identity columns draw from their sequences without a grant; nobody needs nextval() on them.
revoke all on sequence public.job_events_id_seq, public.credit_ledger_id_seq from public, anon, authenticated, service_role;

revoke all on public.job_stats, public.active_jobs, public.pending_jobs_queue, public.job_usage_by_kind
  from anon, authenticated, service_role;
grant select on public.job_stats, public.active_jobs, public.pending_jobs_queue, public.job_usage_by_kind to authenticated, service_role;

revoke all on function public.cancel_job(uuid), public.retry_job(uuid), public.job_queue_position(uuid),
  public.job_eta_seconds(uuid), public.rag_search(double precision[], integer, text) from public, anon, authenticated, service_role;
grant execute on function public.cancel_job(uuid), public.retry_job(uuid), public.job_queue_position(uuid),
  public.job_eta_seconds(uuid), public.rag_search(double precision[], integer, text) to authenticated, service_role;

-- The private schema: invisible to users; the service role gets data rights on the engine's tables (never the
-- webhook's secret, longhaul.webhook_config, which exists once the webhook is installed).
revoke all on schema longhaul from public, anon, authenticated;
grant usage on schema longhaul to service_role;
revoke all on all tables in schema longhaul from public, anon, authenticated, service_role;
revoke all on all sequences in schema longhaul from public, anon, authenticated, service_role;
grant select, insert, update, delete on longhaul.job_runs, longhaul.job_deliveries, longhaul.job_chunks, longhaul.job_stages,
  longhaul.job_items, longhaul.rate_limits, longhaul.ai_cache, longhaul.job_files, longhaul.rag_chunks,
  longhaul.job_notifications to service_role;
