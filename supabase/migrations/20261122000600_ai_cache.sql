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
