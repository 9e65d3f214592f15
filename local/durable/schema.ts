/**
 * Storage of the local Durable Task backend: its own schema, created idempotently at host start.
 * Layout (why): `instances` is the unit of locking (an episode holds its row lock, so a crash releases it at once);
 * `history` holds only the current generation (continueAsNew deletes it, keeping replay cost bounded);
 * `inbox` carries every message to an orchestration (completions, timers with a future visible_at, external events,
 * control events); `activities` is the activity work queue, claimed with SKIP LOCKED and fenced by a claim token.
 * Statement-level triggers NOTIFY idle hosts so they react in milliseconds instead of on a polling tick.
 */
export const DURABLE_SCHEMA_SQL = `
create schema if not exists durabletask;

create table if not exists durabletask.instances (
  instance_id text primary key,
  name text not null,
  version text not null default '',
  execution_id text not null,
  status text not null,
  input text,
  output text,
  custom_status text,
  parent jsonb,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  completed_at timestamptz,
  generation int not null default 0,
  episode int not null default 0,
  processed_actions int not null default 0,
  next_event_id int not null default 0,
  last_timestamp timestamptz,
  history_events int not null default 0,
  ready_after timestamptz
);
alter table durabletask.instances add column if not exists ready_after timestamptz;
create index if not exists instances_created_idx on durabletask.instances (created_at, instance_id);
comment on table durabletask.instances is 'One row per orchestration instance; its row lock serialises episodes.';

create table if not exists durabletask.history (
  instance_id text not null,
  seq int not null,
  event text not null,
  primary key (instance_id, seq)
);
comment on table durabletask.history is 'DTFx-format history of the current generation, as JSON text in replay order.';

create table if not exists durabletask.inbox (
  id bigserial primary key,
  instance_id text not null,
  execution_id text,
  event_type int not null,
  event text not null,
  visible_at timestamptz not null default clock_timestamp()
);
create index if not exists inbox_visible_idx on durabletask.inbox (visible_at);
create index if not exists inbox_instance_idx on durabletask.inbox (instance_id, id);
comment on table durabletask.inbox is 'Messages waiting for an orchestration episode; execution_id null = any generation.';

create table if not exists durabletask.activities (
  id bigserial primary key,
  instance_id text not null,
  execution_id text not null,
  task_id int not null,
  name text not null,
  input text,
  retry text,
  visible_at timestamptz not null default clock_timestamp(),
  owner int,
  claim uuid,
  claimed_at timestamptz,
  dequeue_count int not null default 0
);
create index if not exists activities_ready_idx on durabletask.activities (id) where owner is null;
create index if not exists activities_instance_idx on durabletask.activities (instance_id);
comment on table durabletask.activities is 'Activity work items; owner = host id holding an advisory lock while alive.';

-- Notifies only when the statement inserted rows (an empty insert from a combined statement stays silent).
create or replace function durabletask.notify_work() returns trigger language plpgsql as $$
begin
  if exists (select 1 from inserted) then
    -- The payload names the inserting host (durabletask.origin), which has already woken its own workers.
    perform pg_notify('durabletask', tg_argv[0] || ':' || coalesce(current_setting('durabletask.origin', true), ''));
  end if;
  return null;
end $$;

drop trigger if exists inbox_notify on durabletask.inbox;
create trigger inbox_notify after insert on durabletask.inbox
  referencing new table as inserted
  for each statement execute function durabletask.notify_work('o');
drop trigger if exists activities_notify on durabletask.activities;
create trigger activities_notify after insert on durabletask.activities
  referencing new table as inserted
  for each statement execute function durabletask.notify_work('a');
`;

/** Advisory-lock class id the hosts use to advertise liveness ("LH"). */
export const HOST_LOCK_CLASS = 0x4c48;
