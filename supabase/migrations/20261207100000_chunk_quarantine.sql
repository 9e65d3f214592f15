-- longhaul chunk quarantine: a chunk whose run never finished (the host died under it, or the run was abandoned) is
-- found still `running` when it is claimed again, and that is counted as a crash of its host. The engine fails a chunk
-- that crashed its host too often instead of running it again, so its job fails and is refunded rather than taking
-- the host down at every restart. Crashes count per job attempt: a retried job gives its chunks a fresh count.
-- Only crashes in a row with no progress of the job between them count: a host killed from outside (a deployment, an
-- instance recycled, a kill storm) while work goes on is not a chunk that crashes it, while a chunk that brings its
-- host down at the same point every time makes no progress between its runs.

alter table longhaul.job_chunks
  add column crashes integer not null default 0,
  add column crash_attempt integer,
  add column crash_progress bigint;
comment on column longhaul.job_chunks.crashes is 'Runs in a row of the chunk in job attempt crash_attempt that never finished (found still running when claimed again), with no progress of the job between them.';
comment on column longhaul.job_chunks.crash_progress is 'The job''s done items (job_runs.items_done) when the chunk was last claimed: more at the next claim means work went on.';
comment on column longhaul.job_chunks.crash_attempt is 'The job attempt whose crashed runs `crashes` counts; another attempt starts again from zero.';

create function longhaul.claim_chunk(p_job uuid, p_attempt integer, p_stage integer, p_idx integer)
returns table (
  id uuid,
  user_id uuid,
  kind text,
  status text,
  attempt integer,
  cancel_requested_at timestamptz,
  chunk_status text,
  chunk_input jsonb,
  cursor jsonb,
  failures integer,
  attempts integer,
  crashes integer
)
language sql
set search_path = ''
as $$
  with j as (
    select j.id, j.user_id, j.kind, j.status, j.attempt, j.cancel_requested_at, coalesce(r.items_done, 0) as items_done
    from public.jobs j left join longhaul.job_runs r on r.job_id = j.id
    where j.id = p_job
  ), c as (
    -- SET expressions read the row as it was: a chunk found `running` is a run that never finished.
    update longhaul.job_chunks c set
      attempts = c.attempts + 1,
      crashes = case
                  when c.crash_attempt is distinct from p_attempt then 0
                  when c.crash_progress is distinct from j.items_done then 0
                  else c.crashes
                end
                + case when c.status = 'running' then 1 else 0 end,
      crash_attempt = p_attempt,
      crash_progress = j.items_done,
      status = case when c.status = 'done' then 'done' else 'running' end,
      updated_at = now()
    from j
    where c.job_id = p_job and c.stage = p_stage and c.idx = p_idx and j.status = 'running' and j.attempt = p_attempt
    returning c.status, c.input, c.cursor, c.failures, c.attempts, c.crashes
  )
  select j.id, j.user_id, j.kind, j.status, j.attempt, j.cancel_requested_at,
         c.status, c.input, c.cursor, c.failures, c.attempts, c.crashes
  from j left join c on true
$$;
comment on function longhaul.claim_chunk is 'Marks a chunk of a running job attempt as running and counts the claim; a chunk found still running counts one crash, the first of a new series when the job made progress since the last claim. Returns the job (and the chunk when it was claimed); a stale attempt claims nothing.';

revoke all on function longhaul.claim_chunk(uuid, integer, integer, integer) from public, anon, authenticated;
grant execute on function longhaul.claim_chunk(uuid, integer, integer, integer) to service_role;
