/**
 * Everything an operator looks at when a job misbehaves, in one answer: the Job, its stages with chunk counts by
 * status, the latest chunk and item errors, its delivery attempts and its event log. Admin only (the engine's private
 * tables are not the user's business).
 */
import type { Pool } from 'pg';
import { query } from '../db';
import { getJob } from './jobStore';
import type { Job } from './job';

// Bounds so a job with a million failed items still answers in one small response.
const MAX_ERRORS = 25;
const MAX_EVENTS = 200;

export interface JobDetails {
  job: Job;
  stages: { stage: number; name: string; chunkCount: number; itemCount: number; plannedAt: string; chunks: Record<'pending' | 'running' | 'done' | 'failed', number>; chunkAttempts: number; chunkFailures: number }[];
  chunkErrors: { stage: number; idx: number; status: string; failures: number; error: unknown; updatedAt: string }[];
  itemErrors: { key: string; status: string; error: unknown; updatedAt: string }[];
  attempts: { attempt: number; createdAt: string; enqueuedAt: string | null; enqueueCount: number; acknowledgedAt: string | null }[];
  events: { id: number; attempt: number; from: string | null; to: string; actor: string; detail: unknown; at: string }[];
}

export async function jobDetails(db: Pool, id: string): Promise<JobDetails> {
  const job = await getJob(db, { type: 'admin' }, id);
  const [stages, chunkErrors, itemErrors, attempts, events] = await Promise.all([
    query<{ stage: number; name: string; chunk_count: number; item_count: string; planned_at: Date; pending: number; running: number; done: number; failed: number; attempts: number; failures: number }>(
      db,
      `select s.stage, s.name, s.chunk_count, s.item_count, s.planned_at,
              count(c.idx) filter (where c.status = 'pending')::int as pending,
              count(c.idx) filter (where c.status = 'running')::int as running,
              count(c.idx) filter (where c.status = 'done')::int as done,
              count(c.idx) filter (where c.status = 'failed')::int as failed,
              coalesce(sum(c.attempts), 0)::int as attempts,
              coalesce(sum(c.failures), 0)::int as failures
       from longhaul.job_stages s
       left join longhaul.job_chunks c on c.job_id = s.job_id and c.stage = s.stage
       where s.job_id = $1 group by s.stage, s.name, s.chunk_count, s.item_count, s.planned_at order by s.stage`,
      [job.id],
    ),
    query<{ stage: number; idx: number; status: string; failures: number; error: unknown; updated_at: Date }>(
      db,
      'select stage, idx, status, failures, error, updated_at from longhaul.job_chunks where job_id = $1 and error is not null order by updated_at desc limit $2',
      [job.id, MAX_ERRORS],
    ),
    query<{ key: string; status: string; error: unknown; updated_at: Date }>(
      db,
      "select key, status, error, updated_at from longhaul.job_items where job_id = $1 and status = 'failed' order by updated_at desc limit $2",
      [job.id, MAX_ERRORS],
    ),
    query<{ attempt: number; created_at: Date; enqueued_at: Date | null; enqueue_count: number; acknowledged_at: Date | null }>(
      db,
      'select attempt, created_at, enqueued_at, enqueue_count, acknowledged_at from longhaul.job_deliveries where job_id = $1 order by attempt',
      [job.id],
    ),
    query<{ id: string; attempt: number; from_status: string | null; to_status: string; actor: string; detail: unknown; created_at: Date }>(
      db,
      'select id, attempt, from_status, to_status, actor, detail, created_at from (select * from public.job_events where job_id = $1 order by id desc limit $2) e order by id',
      [job.id, MAX_EVENTS],
    ),
  ]);
  return {
    job,
    stages: stages.map((s) => ({
      stage: s.stage,
      name: s.name,
      chunkCount: s.chunk_count,
      itemCount: Number(s.item_count),
      plannedAt: s.planned_at.toISOString(),
      chunks: { pending: s.pending, running: s.running, done: s.done, failed: s.failed },
      chunkAttempts: s.attempts,
      chunkFailures: s.failures,
    })),
    chunkErrors: chunkErrors.map((c) => ({ stage: c.stage, idx: c.idx, status: c.status, failures: c.failures, error: c.error, updatedAt: c.updated_at.toISOString() })),
    itemErrors: itemErrors.map((i) => ({ key: i.key, status: i.status, error: i.error, updatedAt: i.updated_at.toISOString() })),
    attempts: attempts.map((a) => ({ attempt: a.attempt, createdAt: a.created_at.toISOString(), enqueuedAt: a.enqueued_at?.toISOString() ?? null, enqueueCount: a.enqueue_count, acknowledgedAt: a.acknowledged_at?.toISOString() ?? null })),
    events: events.map((e) => ({ id: Number(e.id), attempt: e.attempt, from: e.from_status, to: e.to_status, actor: e.actor, detail: e.detail, at: e.created_at.toISOString() })),
  };
}
