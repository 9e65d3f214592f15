-- longhaul: jobs, credits and the engine's private state.
-- Users reach public.jobs, public.job_events, public.credit_accounts, public.credit_ledger and public.job_pricing
-- through the Data API; RLS is enabled on each in this migration. Engine state (chunks, items, counters, the delivery
-- outbox) lives in the private schema longhaul, which the API roles cannot see.

create schema if not exists longhaul;
comment on schema longhaul is 'Private engine state of longhaul: chunks, per-item outputs, counters and the delivery outbox. Not exposed through the Data API.';
revoke all on schema longhaul from public, anon, authenticated;
grant usage on schema longhaul to service_role;

-- Pricing ------------------------------------------------------------------------------------------------------------

create table public.job_pricing (
  kind text primary key check (kind ~ '^[a-z][a-z0-9_]{1,40}$'),
  unit text not null,
  credits_per_unit integer not null check (credits_per_unit >= 0),
  min_credits integer not null default 0 check (min_credits >= 0),
  description text not null default ''
);
comment on table public.job_pricing is 'One row per job kind: what a billable unit is and what it costs. A kind without a row cannot be submitted. Units are counted by longhaul.units_<kind>(input).';
alter table public.job_pricing enable row level security;
revoke all on public.job_pricing from anon, authenticated;
grant select on public.job_pricing to anon, authenticated;
create policy "pricing is public" on public.job_pricing for select to anon, authenticated using (true);

-- Jobs ---------------------------------------------------------------------------------------------------------------

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  kind text not null references public.job_pricing (kind),
  input jsonb not null,
  status text not null default 'pending'
    check (status in ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  priority integer not null default 0 check (priority between -100 and 100),
  idempotency_key text check (char_length(idempotency_key) between 1 and 200),
  attempt integer not null default 1 check (attempt >= 1),
  progress jsonb not null default '{"done": 0, "total": 0, "percent": 0, "stage": null, "message": null}'::jsonb,
  result jsonb,
  error jsonb,
  usage jsonb not null default '{}'::jsonb,
  credits_charged bigint not null default 0,
  credits_refunded bigint not null default 0,
  cancel_requested_at timestamptz,
  created_at timestamptz not null default now(),
  queued_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table public.jobs is 'One row per job. Insert (kind, input, idempotency_key?, priority?) to submit: a BEFORE INSERT trigger validates the kind, prices the job and charges credits. Status, progress, result and credit columns are written only by longhaul''s SQL functions.';
comment on column public.jobs.attempt is 'Starts at 1; a retry starts attempt + 1, which resumes unfinished chunks.';
comment on column public.jobs.progress is '{done, total, percent, stage, message}, written at a bounded rate while the job runs.';

create unique index jobs_idempotency on public.jobs (user_id, idempotency_key) where idempotency_key is not null;
create index jobs_user_created on public.jobs (user_id, created_at desc, id desc);
create index jobs_status_created on public.jobs (status, created_at desc, id desc);
create index jobs_waiting on public.jobs (priority desc, created_at, id) where status in ('pending', 'queued');

alter table public.jobs enable row level security;
revoke all on public.jobs from anon, authenticated;
-- Users choose what to run; everything the engine owns (status, progress, result, credits) stays out of reach.
grant select on public.jobs to authenticated;
grant insert (kind, input, idempotency_key, priority, user_id) on public.jobs to authenticated;
create policy "users read their own jobs" on public.jobs for select to authenticated
  using (user_id = (select auth.uid()));
create policy "users submit their own jobs" on public.jobs for insert to authenticated
  with check (user_id = (select auth.uid()));

-- Event log ------------------------------------------------------------------------------------------------------------

create table public.job_events (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.jobs (id) on delete cascade,
  user_id uuid not null,
  attempt integer not null,
  from_status text,
  to_status text not null,
  actor text not null,
  detail jsonb,
  created_at timestamptz not null default now()
);
comment on table public.job_events is 'Every status transition of every job: from, to, who (a user id or system:<function>) and when.';
create index job_events_job on public.job_events (job_id, id);
alter table public.job_events enable row level security;
revoke all on public.job_events from anon, authenticated;
grant select on public.job_events to authenticated;
create policy "users read events of their own jobs" on public.job_events for select to authenticated
  using (user_id = (select auth.uid()));

-- Credits --------------------------------------------------------------------------------------------------------------

create table public.credit_accounts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  balance bigint not null default 0 check (balance >= 0),
  updated_at timestamptz not null default now()
);
comment on table public.credit_accounts is 'Credit balance per user. Changed only together with a credit_ledger row, by longhaul''s SQL functions.';
alter table public.credit_accounts enable row level security;
revoke all on public.credit_accounts from anon, authenticated;
grant select on public.credit_accounts to authenticated;
create policy "users read their own balance" on public.credit_accounts for select to authenticated
  using (user_id = (select auth.uid()));

create table public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  -- No foreign key: the ledger outlives jobs purged by maintenance.
  job_id uuid,
  attempt integer,
  entry text not null check (entry in ('grant', 'charge', 'refund', 'adjustment')),
  amount bigint not null,
  balance_after bigint not null,
  reason text not null,
  created_at timestamptz not null default now(),
  check ((entry in ('charge', 'refund')) = (job_id is not null and attempt is not null)),
  check (entry <> 'charge' or amount < 0),
  check (entry <> 'refund' or amount > 0)
);
comment on table public.credit_ledger is 'Append-only credit movements. At most one charge and one refund per job attempt: a unique index, not application code, prevents double charges and double refunds.';
create unique index credit_ledger_once_per_attempt on public.credit_ledger (job_id, attempt, entry)
  where entry in ('charge', 'refund');
create index credit_ledger_user on public.credit_ledger (user_id, id desc);
alter table public.credit_ledger enable row level security;
revoke all on public.credit_ledger from anon, authenticated;
grant select on public.credit_ledger to authenticated;
create policy "users read their own ledger" on public.credit_ledger for select to authenticated
  using (user_id = (select auth.uid()));

-- Engine state (private) -----------------------------------------------------------------------------------------------

create table longhaul.job_runs (
  job_id uuid primary key references public.jobs (id) on delete cascade,
  units_total bigint not null,
  units_done bigint not null default 0,
  credits_per_unit integer not null,
  min_credits integer not null,
  items_total bigint not null default 0,
  items_done bigint not null default 0,
  stage text,
  progress_written_at timestamptz not null default '-infinity'
);
comment on table longhaul.job_runs is 'Counters of a job across attempts: billable units (priced at submission, so later price changes do not alter refunds) and progress items. Refund = units not done x price.';

create table longhaul.job_deliveries (
  job_id uuid not null references public.jobs (id) on delete cascade,
  attempt integer not null,
  created_at timestamptz not null default now(),
  enqueued_at timestamptz,
  enqueue_count integer not null default 0,
  acknowledged_at timestamptz,
  primary key (job_id, attempt)
);
comment on table longhaul.job_deliveries is 'Outbox: one row per job attempt. The webhook and the API enqueue it; the queue function acknowledges it once the orchestration exists; the sweeper re-enqueues rows never acknowledged (pg_net webhooks are fire-and-forget).';
create index job_deliveries_unacknowledged on longhaul.job_deliveries (created_at) where acknowledged_at is null;

create table longhaul.job_chunks (
  job_id uuid not null references public.jobs (id) on delete cascade,
  stage integer not null,
  idx integer not null,
  -- The chunk may start only when every chunk of this stage with an index <= after is done (-1: no wait).
  after integer not null default -1,
  status text not null default 'pending' check (status in ('pending', 'running', 'done', 'failed')),
  input jsonb not null,
  output jsonb,
  cursor jsonb,
  units bigint not null default 0,
  attempts integer not null default 0,
  failures integer not null default 0,
  error jsonb,
  done_attempt integer,
  updated_at timestamptz not null default now(),
  primary key (job_id, stage, idx),
  check (after < idx)
);
comment on table longhaul.job_chunks is 'The unit of scheduling: a stage''s work split into chunks. The orchestration history carries (job, stage, idx) only; inputs and outputs live here. A done chunk is never run again, in this attempt or a retry.';
create index job_chunks_open on longhaul.job_chunks (job_id, stage, idx) where status <> 'done';

create table longhaul.job_stages (
  job_id uuid not null references public.jobs (id) on delete cascade,
  stage integer not null,
  name text not null,
  chunk_count integer not null,
  item_count bigint not null default 0,
  planned_at timestamptz not null default now(),
  primary key (job_id, stage)
);
comment on table longhaul.job_stages is 'Stages planned so far for a job; planning is idempotent (a stage is planned once, retries reuse it).';

create table longhaul.job_items (
  job_id uuid not null references public.jobs (id) on delete cascade,
  key text not null,
  seq bigint not null,
  status text not null default 'pending' check (status in ('pending', 'done', 'failed', 'skipped')),
  input jsonb,
  output jsonb,
  error jsonb,
  units integer not null default 0,
  usage jsonb,
  updated_at timestamptz not null default now(),
  primary key (job_id, key)
);
comment on table longhaul.job_items is 'Per-item results of kinds that produce many (workflow nodes, ...): upserted by (job, key), paged by seq for the results endpoint.';
create unique index job_items_seq on longhaul.job_items (job_id, seq);

grant all on all tables in schema longhaul to service_role;
