-- longhaul: cache of deterministic AI answers (embeddings; temperature-0 generations), keyed by a content hash of
-- provider, model and request. Scoped to one job by default (AI_CACHE=job) or shared by all jobs (AI_CACHE=global).

create table longhaul.ai_cache (
  key text primary key,
  value jsonb not null,
  created_at timestamptz not null default now()
);
comment on table longhaul.ai_cache is 'Deterministic AI answers by content hash (sha-256 of scope, capability, provider, model, request); purged by the sweeper after HISTORY_RETENTION_DAYS.';
create index ai_cache_created on longhaul.ai_cache (created_at);
revoke all on longhaul.ai_cache from public, anon, authenticated;
grant all on longhaul.ai_cache to service_role;

-- Provider usage by kind (the Job shows its own in `usage`): what each kind costs in calls, tokens, images, audio.
create view public.job_usage_by_kind with (security_invoker = true) as
  select kind,
         count(*) as jobs,
         coalesce(sum((usage ->> 'requests')::numeric), 0) as requests,
         coalesce(sum((usage ->> 'inputTokens')::numeric), 0) as input_tokens,
         coalesce(sum((usage ->> 'outputTokens')::numeric), 0) as output_tokens,
         coalesce(sum((usage ->> 'images')::numeric), 0) as images,
         coalesce(sum((usage ->> 'audioSeconds')::numeric), 0) as audio_seconds
  from public.jobs group by kind;
comment on view public.job_usage_by_kind is 'Provider usage summed per job kind (RLS applies: a user sees their own jobs'' usage).';
revoke all on public.job_usage_by_kind from anon;
grant select on public.job_usage_by_kind to authenticated, service_role;
