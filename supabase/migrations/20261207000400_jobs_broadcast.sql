-- longhaul: job changes reach the app's users through Realtime Broadcast on a private channel per user, not through
-- Postgres Changes. Supabase applies no RLS to DELETE events of Postgres Changes, so with public.jobs in the
-- supabase_realtime publication every subscriber learnt the ids of every user's purged jobs. Now:
--   * public.jobs leaves the supabase_realtime publication;
--   * every insert, update and delete of a job sends one Broadcast message, event INSERT|UPDATE|DELETE, on topic
--     'jobs:<owner user id>', private, payload {operation, schema, table, record, old_record} like
--     realtime.broadcast_changes — record without input and result (they can be megabytes; read them with a select),
--     old_record only for a delete ({id}); an update that changes none of the record's columns sends nothing;
--   * RLS on realtime.messages lets a signed-in user receive on their own topic only.
-- Apps subscribe with supabase.channel('jobs:' + userId, { config: { private: true } }).on('broadcast', …).

do $$
begin
  if exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'jobs') then
    alter publication supabase_realtime drop table public.jobs;
  end if;
end
$$;

create function longhaul.jobs_broadcast()
returns trigger
language plpgsql
-- security definer: the inserting user may not write realtime.messages (they may not send on their own topic).
security definer
set search_path = ''
as $$
declare
  v_owner uuid := case when tg_op = 'DELETE' then old.user_id else new.user_id end;
begin
  perform realtime.send(
    jsonb_build_object(
      'operation', tg_op, 'schema', tg_table_schema, 'table', tg_table_name,
      -- Built from the columns it carries, never from the whole row: to_jsonb(new) would serialise a
      -- multi-megabyte input at every progress update only to drop it.
      'record', case when tg_op = 'DELETE' then null else jsonb_build_object(
        'id', new.id, 'user_id', new.user_id, 'kind', new.kind, 'status', new.status, 'priority', new.priority,
        'idempotency_key', new.idempotency_key, 'attempt', new.attempt, 'progress', new.progress, 'error', new.error,
        'usage', new.usage, 'credits_charged', new.credits_charged, 'credits_refunded', new.credits_refunded,
        'cancel_requested_at', new.cancel_requested_at, 'created_at', new.created_at, 'queued_at', new.queued_at,
        'started_at', new.started_at, 'finished_at', new.finished_at, 'updated_at', new.updated_at) end,
      'old_record', case when tg_op = 'DELETE' then jsonb_build_object('id', old.id) end),
    tg_op, 'jobs:' || v_owner::text, true);
  return null;
end
$$;
comment on function longhaul.jobs_broadcast is 'Sends each change of a job as a private Broadcast message on topic jobs:<owner>, without input and result.';
revoke all on function longhaul.jobs_broadcast() from public, anon, authenticated;

do $$
begin
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    raise notice 'no Realtime schema: job broadcasts skipped';
    return;
  end if;
  create trigger jobs_broadcast_insert_delete after insert or delete on public.jobs
    for each row execute function longhaul.jobs_broadcast();
  -- Checked before any function is called: updates that change only input, result or updated_at send nothing.
  create trigger jobs_broadcast_update after update on public.jobs
    for each row
    when ((old.status, old.priority, old.attempt, old.progress, old.error, old.usage, old.credits_charged,
           old.credits_refunded, old.cancel_requested_at, old.queued_at, old.started_at, old.finished_at)
          is distinct from
          (new.status, new.priority, new.attempt, new.progress, new.error, new.usage, new.credits_charged,
           new.credits_refunded, new.cancel_requested_at, new.queued_at, new.started_at, new.finished_at))
    execute function longhaul.jobs_broadcast();
  -- Broadcast Authorization: the Realtime service checks a subscription by reading realtime.messages as the user with
  -- realtime.topic() set to the channel; only the user's own jobs topic passes, for reading, never for sending.
  create policy "longhaul: users receive their own job changes" on realtime.messages
    for select to authenticated
    using (
      extension = 'broadcast'
      and topic = 'jobs:' || (select auth.uid())::text
      and topic = (select realtime.topic())
    );
end
$$;
