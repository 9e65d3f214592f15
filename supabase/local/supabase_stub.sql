-- What a Supabase database provides before any project migration runs, recreated for plain Postgres (the local host,
-- tests, benchmarks). Never applied to a Supabase project: there these objects already exist and belong to Supabase.
--
-- It reproduces a current hosted project, not a permissive approximation of one:
--   * the project's migrations run as `postgres`, which is not a superuser (NOSUPERUSER CREATEDB CREATEROLE
--     REPLICATION BYPASSRLS); a separate superuser (`supabase_admin` on Supabase) runs this file and owns the platform
--     schemas. local/services/postgres.ts creates both roles; on a plain Postgres that has no `postgres` role besides the
--     connecting one, the connecting role plays both parts;
--   * nothing the project creates in `public` is granted automatically to anon, authenticated or service_role (projects
--     since 2026-05-30, all projects since 2026-10-30): every migration grants what each role needs;
--   * roles `anon`/`authenticated` carry the statement timeouts hosted projects set (3 s / 8 s), which PostgREST
--     applies to each request it runs as that role;
--   * `auth` (users, uid(), role(), jwt()), `storage` (buckets, objects with RLS, foldername()) and `realtime`
--     (messages with RLS, topic(), send(), broadcast_changes()) hold the parts the migrations and the app use.
-- Differences from hosted, on purpose: storage.objects and realtime.messages belong to roles `postgres` is a member
-- of (hosted: supautils lets `postgres` create policies on tables it does not own, and nothing else) — so locally
-- `postgres` could also alter those tables; realtime.messages is one table pruned by realtime.send() (hosted: daily
-- partitions dropped by the Realtime service), and nothing delivers its rows to websockets.
-- Every statement is idempotent: local/services/postgres.ts re-applies this file when it changes.

-- Roles ----------------------------------------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- Owners of the platform schemas the project may write policies for (supabase_storage_admin as on Supabase).
  if not exists (select 1 from pg_roles where rolname = 'supabase_storage_admin') then
    create role supabase_storage_admin nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin nologin noinherit;
  end if;
end
$$;

-- PostgREST applies an impersonated role's settings to each request (hosted values).
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- The migration role (postgres on Supabase; the connecting role where there is no separate one) may act as any API
-- role, as PostgREST's authenticator does, and write policies on storage.objects and realtime.messages.
do $$
declare
  v_role text;
begin
  foreach v_role in array array[current_user::text, 'postgres'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      execute format('grant anon, authenticated, service_role, supabase_storage_admin, supabase_realtime_admin to %I', v_role);
    end if;
  end loop;
end
$$;

-- public: usage for the API roles, no automatic grants -------------------------------------------------------------------

grant usage on schema public to anon, authenticated, service_role;
do $$
declare
  v_role text;
begin
  foreach v_role in array array[current_user::text, 'postgres'] loop
    -- A role may change only its own default privileges unless it is a superuser.
    if exists (select 1 from pg_roles where rolname = v_role)
       and (v_role = current_user or (select rolsuper from pg_roles where rolname = current_user)) then
      execute format('alter default privileges for role %I in schema public revoke all on tables from anon, authenticated, service_role', v_role);
      execute format('alter default privileges for role %I in schema public revoke all on sequences from anon, authenticated, service_role', v_role);
      execute format('alter default privileges for role %I in schema public revoke all on functions from anon, authenticated, service_role', v_role);
    end if;
  end loop;
  -- Objects the platform superuser itself creates in public (extensions installed there) are open to the API roles,
  -- as supabase_admin's default privileges are on Supabase.
  if current_user = 'supabase_admin' then
    alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
    alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
  end if;
end
$$;

-- auth -----------------------------------------------------------------------------------------------------------------

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Request claims arrive as the GUC request.jwt.claims (PostgREST >= 9) or the older per-claim settings.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- storage (the parts of Supabase Storage's schema the migrations touch) ---------------------------------------------------

create schema if not exists storage;
create table if not exists storage.buckets (
  id text primary key,
  name text not null unique,
  owner uuid,
  public boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create table if not exists storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  metadata jsonb,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  unique (bucket_id, name)
);
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
create or replace function storage.foldername(name text) returns text[]
language sql immutable
as $$
  select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
$$;
create or replace function storage.filename(name text) returns text
language sql immutable
as $$
  select (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)]
$$;
alter schema storage owner to supabase_storage_admin;
alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter function storage.foldername(text) owner to supabase_storage_admin;
alter function storage.filename(text) owner to supabase_storage_admin;
-- The Storage API runs each request as the caller's role; RLS decides.
grant usage on schema storage to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

-- realtime (Broadcast from the database and its authorization) -----------------------------------------------------------

create schema if not exists realtime;
create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id uuid not null default gen_random_uuid(),
  primary key (id, inserted_at)
);
create index if not exists messages_inserted_at on realtime.messages (inserted_at);
alter table realtime.messages enable row level security;

-- The channel a Realtime authorization check runs for (set by the Realtime service, and by send()).
create or replace function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true) returns void
language plpgsql
as $$
begin
  begin
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (payload, event, topic, private, extension)
    values (payload, event, topic, private, 'broadcast');
    -- Local only: nothing consumes the rows, so keep a few minutes of them.
    delete from realtime.messages where inserted_at < now() - interval '10 minutes';
  exception when others then
    -- As on Supabase: a failed broadcast never fails the transaction that sent it.
    raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

create or replace function realtime.broadcast_changes(topic_name text, event_name text, operation text, table_name text,
  table_schema text, new record, old record, level text default 'ROW') returns void
language plpgsql
as $$
begin
  perform realtime.send(
    jsonb_build_object('operation', operation, 'table', table_name, 'schema', table_schema,
      'record', case when new is null then null else to_jsonb(new) end,
      'old_record', case when old is null then null else to_jsonb(old) end),
    event_name, topic_name, true);
end
$$;

alter schema realtime owner to supabase_realtime_admin;
alter table realtime.messages owner to supabase_realtime_admin;
alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text) owner to supabase_realtime_admin;
grant usage on schema realtime to anon, authenticated, service_role;
grant select, insert on realtime.messages to anon, authenticated;
grant all on realtime.messages to service_role;
revoke all on function realtime.send(jsonb, text, text, boolean), realtime.broadcast_changes(text, text, text, text, text, record, record, text) from public, anon, authenticated;
grant execute on function realtime.send(jsonb, text, text, boolean), realtime.broadcast_changes(text, text, text, text, text, record, record, text) to service_role;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'postgres') then
    grant usage on schema auth, storage, realtime to postgres;
    grant all on auth.users to postgres;
    grant all on storage.buckets, storage.objects, realtime.messages to postgres;
    grant execute on function realtime.send(jsonb, text, text, boolean), realtime.broadcast_changes(text, text, text, text, text, record, record, text) to postgres;
  end if;
end
$$;

-- The publication Supabase's Postgres Changes reads, empty and owned by the project as on Supabase.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if exists (select 1 from pg_roles where rolname = 'postgres') then
    alter publication supabase_realtime owner to postgres;
  end if;
end
$$;

-- The Supabase CLI records applied migrations here (as the project's role); the local runner uses the same table.
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'postgres') then
    alter schema supabase_migrations owner to postgres;
    alter table supabase_migrations.schema_migrations owner to postgres;
  end if;
end
$$;
