/**
 * The engine's activities, built by a factory that takes its dependencies (Temporal samples'
 * activities-dependency-injection): functions/ passes the real pool and AI services; tests pass real Postgres and a
 * wire-level fake provider. Every write is idempotent: an activity may run twice.
 */
import type { Pool } from 'pg';
import type { AiServices } from '../ai/types';
import { withCache } from '../ai/cache';
import { NonRetriableError, RetryAfterError, ValidationError } from '../errors';
import { ConfigError } from '../config';
import { findKind } from '../kinds';
import { MISCONFIGURED_MESSAGE } from '../jobs/publicError';
import type { ChunkOutcome, JobKind, JobRecord } from '../kinds/types';
import type { Logger } from '../log';
import type { Notifier } from '../notify';
import { inSpan, telemetry } from '../telemetry';
import type {
  EngineLimits,
  FinishJobInput,
  JobError,
  JobRef,
  NextChunksInput,
  NextChunksResult,
  PlanStageInput,
  PlanStageResult,
  RunChunkInput,
  RunChunkResult,
  StartJobResult,
} from '../orchestration/contracts';
import { boundJobError, JOB_ERROR_BOUNDS } from '../orchestration/contracts';
import { CHUNK_MAX_CRASHES } from '../orchestration/retry';
import type { ObjectStore } from '../storage/blobStore';
import { writeStagePlan } from './planWriter';
import { failJob } from '../jobs/failJob';
import { isEnded } from '../jobs/job';

export interface EngineDeps {
  db: Pool;
  ai: () => AiServices;
  /** Object storage for files jobs produce; created on first use. */
  files?: () => ObjectStore;
  /** Object storage for files handed to the app (blob or Supabase Storage); created on first use. */
  outputs?: () => ObjectStore;
  /** Deterministic AI answers cached per job, across jobs, or not at all (AI_CACHE). */
  aiCache?: 'job' | 'global' | 'off';
  limits: EngineLimits;
  chunkTimeBudgetMs: number;
  /** JOB_CHUNK_MAX_CRASHES: crashes in a row without progress before a chunk is quarantined (CHUNK_MAX_CRASHES). */
  chunkMaxCrashes?: number;
  workerConcurrency: number;
  clock?: () => number;
  /** NOTIFY_WEBHOOK_URL: told about failed jobs after the transition, never awaited. */
  notifier?: Notifier;
}

interface JobRow {
  id: string;
  user_id: string;
  kind: string;
  status: string;
  attempt: number;
  cancel_requested_at: Date | null;
}

const ACTOR = 'system:engine';
// A provider wait longer than this is spent in a durable timer of the stage runner, not in the activity.
const DURABLE_WAIT_AFTER_MS = 5_000;
// A chunk that keeps being told to wait (a provider rate-limiting for hours) eventually fails the job.
const MAX_CHUNK_RUNS = 200;

export function createEngineActivities(deps: EngineDeps) {
  const { db } = deps;
  const now = deps.clock ?? Date.now;

  const kindOf = (name: string): JobKind<unknown> => {
    const kind = findKind(name);
    if (!kind) throw new NonRetriableError(`no module for job kind "${name}" in this app`);
    return kind;
  };
  const record = (row: JobRow, input: unknown = undefined): JobRecord => ({ id: row.id, userId: row.user_id, kind: row.kind, attempt: row.attempt, input });

  async function startJob(ref: JobRef, log: Logger = silentLog): Promise<StartJobResult> {
    const { rows } = await db.query<JobRow>('select * from longhaul.start_job($1, $2, $3)', [ref.jobId, ref.attempt, ACTOR]);
    const job = rows[0];
    const run = job?.status === 'running' && job.attempt === ref.attempt;
    if (!run) return { run, status: job?.status ?? 'missing', limits: deps.limits };
    telemetry().jobsStarted.add(1, { 'longhaul.kind': job.kind });
    log.info('job attempt running', { kind: job.kind });
    try {
      return { run, status: job.status, limits: deps.limits, firstStage: await planStage({ ...ref, stage: 0 }, log) };
    } catch (err) {
      // Not this activity's failure: the orchestration plans stage 0 itself and handles what goes wrong there.
      log.warn('stage 0 not planned at start; the orchestration plans it', { error: (err as Error).message });
      return { run, status: job.status, limits: deps.limits };
    }
  }

  async function planStage(input: PlanStageInput, log: Logger = silentLog): Promise<PlanStageResult> {
    const planned = await db.query<{ name: string; chunk_count: number }>('select name, chunk_count from longhaul.job_stages where job_id = $1 and stage = $2', [input.jobId, input.stage]);
    if (planned.rows[0]) return { name: planned.rows[0].name, chunks: planned.rows[0].chunk_count };
    const { rows } = await db.query<JobRow & { input: unknown }>('select id, user_id, kind, status, attempt, cancel_requested_at, input from public.jobs where id = $1', [input.jobId]);
    const job = rows[0];
    if (!job) throw new NonRetriableError(`job ${input.jobId} not found`);
    const kind = kindOf(job.kind);
    let parsed: unknown;
    try {
      parsed = parseInput(kind, job.input);
    } catch (err) {
      if (err instanceof ValidationError) {
        log.warn('job input is invalid: the job fails with a refund', { error: err.message });
        return { invalid: boundJobError({ message: err.message, code: 'invalid_input', details: err.details }) };
      }
      throw err;
    }
    const previous = input.stage === 0 ? [] : undefined;
    const plan = await kind.planStage(
      {
        db,
        log,
        ai: deps.ai(),
        stage: input.stage,
        previousOutputs: async () =>
          previous ??
          (await db.query<{ output: unknown }>('select output from longhaul.job_chunks where job_id = $1 and stage = $2 order by idx', [input.jobId, input.stage - 1])).rows.map((r) => r.output),
      },
      record(job, parsed),
      parsed,
    );
    if (!plan) return input.completeIfDone ? { finished: (await finishJob({ jobId: input.jobId, attempt: input.attempt, outcome: 'completed' }, log)).status } : null;
    const written = await writeStagePlan(db, input.jobId, input.stage, plan);
    log.info('stage planned', { stage: input.stage, name: written.name, chunks: written.chunks });
    return written;
  }

  async function nextChunks(input: NextChunksInput): Promise<NextChunksResult> {
    const [chunks, job] = await Promise.all([
      db.query<{ idx: number; after: number }>(
        "select idx, after from longhaul.job_chunks where job_id = $1 and stage = $2 and idx >= $3 and status <> 'done' order by idx limit $4",
        [input.jobId, input.stage, input.from, input.limit + 1],
      ),
      db.query<JobRow>('select status, attempt, cancel_requested_at from public.jobs where id = $1', [input.jobId]),
    ]);
    const row = job.rows[0];
    const stop = !row || row.status !== 'running' || row.attempt !== input.attempt || row.cancel_requested_at !== null;
    return { chunks: chunks.rows.slice(0, input.limit).map((c) => [c.idx, c.after]), more: chunks.rows.length > input.limit, stop };
  }

  /** Hands a chunk that is not done back to the runner: to run again (`pending`) or as the stage's failure. */
  async function releaseChunk(input: RunChunkInput, status: 'pending' | 'failed', change: { cursor?: unknown; error?: unknown; failures?: number }): Promise<void> {
    await db.query(
      `update longhaul.job_chunks set status = $4, cursor = case when $5::boolean then $6::jsonb else cursor end, error = $7::jsonb,
         failures = coalesce($8, failures), updated_at = now()
       where job_id = $1 and stage = $2 and idx = $3 and status <> 'done'`,
      [input.jobId, input.stage, input.index, status, 'cursor' in change, JSON.stringify(change.cursor ?? null), change.error === undefined ? null : JSON.stringify(change.error), change.failures ?? null],
    );
  }

  async function runChunk(input: RunChunkInput, log: Logger = silentLog): Promise<RunChunkResult> {
    const started = performance.now();
    let kindName = 'unknown';
    let outcome = 'error';
    try {
      return await inSpan('longhaul.runChunk', { 'longhaul.job_id': input.jobId, 'longhaul.attempt': input.attempt, 'longhaul.stage': input.stage, 'longhaul.chunk': input.index }, async (span) => {
        const result = await runChunkOnce(input, log, (kind) => {
          kindName = kind;
          span.setAttribute('longhaul.kind', kind);
        });
        outcome = result.status;
        span.setAttribute('longhaul.outcome', result.status);
        return result;
      });
    } catch (err) {
      throw boundedThrow(err);
    } finally {
      telemetry().chunkDuration.record(performance.now() - started, { 'longhaul.kind': kindName, 'longhaul.stage': input.stageName, 'longhaul.outcome': outcome });
    }
  }

  async function runChunkOnce(input: RunChunkInput, log: Logger, onKind: (kind: string) => void): Promise<RunChunkResult> {
    const { rows } = await db.query<JobRow & { chunk_status: string | null; chunk_input: unknown; cursor: unknown; failures: number; attempts: number; crashes: number }>(
      'select * from longhaul.claim_chunk($1, $2, $3, $4)',
      [input.jobId, input.attempt, input.stage, input.index],
    );
    const job = rows[0];
    if (!job || job.status !== 'running' || job.attempt !== input.attempt) return { status: 'stale', stop: true };
    onKind(job.kind);
    const stop = job.cancel_requested_at !== null;
    if (job.chunk_status === 'done') return { status: 'done', stop };
    if (job.chunk_status === null) throw new NonRetriableError(`chunk ${input.stage}/${input.index} of job ${input.jobId} does not exist`);
    if (job.crashes >= (deps.chunkMaxCrashes ?? CHUNK_MAX_CRASHES)) {
      const error: JobError = {
        message: `a chunk of stage "${input.stageName}" crashed its host ${job.crashes} times and was quarantined: the job fails instead of running it again`,
        code: 'chunk_quarantined',
      };
      log.error('chunk quarantined after crashing its host', { stage: input.stage, chunk: input.index, crashes: job.crashes });
      await releaseChunk(input, 'failed', { error });
      return { status: 'failed', error, stop };
    }
    if (job.crashes > 0) log.warn('chunk runs again after a run that never finished', { stage: input.stage, chunk: input.index, crashes: job.crashes });
    if (stop) {
      // Scheduled in the same round as the cancel request but not started: its work is what the cancel refunds.
      await releaseChunk(input, 'pending', {});
      return { status: 'partial', stop };
    }
    try {
      return await runClaimed(input, log, job, stop);
    } catch (err) {
      // Handed back before the error goes to Durable's retry, so the next run is not counted as a crash of the host.
      await db
        .query("update longhaul.job_chunks set status = 'pending', updated_at = now() where job_id = $1 and stage = $2 and idx = $3 and status = 'running'", [input.jobId, input.stage, input.index])
        .catch(() => undefined);
      throw err;
    }
  }

  async function runClaimed(input: RunChunkInput, log: Logger, job: JobRow & { chunk_input: unknown; cursor: unknown; failures: number; attempts: number }, stop: boolean): Promise<RunChunkResult> {
    const kind = kindOf(job.kind);
    const cache = deps.aiCache ?? 'job';
    const ai = cache === 'off' ? deps.ai() : withCache(deps.ai(), db, cache === 'global' ? 'global' : input.jobId);
    let outcome: ChunkOutcome;
    try {
      outcome = await kind.runChunk(
        {
          db,
          ai,
          log,
          job: record(job),
          deadline: now() + deps.chunkTimeBudgetMs,
          concurrency: deps.workerConcurrency,
          files: () => {
            if (!deps.files) throw new NonRetriableError('no object storage is configured for job files');
            return deps.files();
          },
          outputs: () => {
            if (!deps.outputs) throw new NonRetriableError('no object storage is configured for job outputs');
            return deps.outputs();
          },
          lastAttempt: job.failures + 1 >= input.maxAttempts,
          completeItems: async (items) => {
            await db.query('select longhaul.complete_items($1, $2::jsonb, $3)', [input.jobId, JSON.stringify(items), input.stageName]);
          },
          addUsage: async (usage) => {
            await db.query('select longhaul.add_usage($1, $2::jsonb)', [input.jobId, JSON.stringify(usage)]);
          },
        },
        { stage: input.stage, index: input.index, input: job.chunk_input, cursor: job.cursor },
      );
    } catch (err) {
      if (err instanceof RetryAfterError && err.retryAfterMs > DURABLE_WAIT_AFTER_MS && job.attempts < MAX_CHUNK_RUNS) {
        log.warn('provider asked to wait: the stage pauses durably', { stage: input.stage, chunk: input.index, waitMs: err.retryAfterMs });
        await releaseChunk(input, 'pending', {});
        return { status: 'wait', retryAfterMs: err.retryAfterMs, stop };
      }
      const failures = job.failures + 1;
      if (err instanceof ConfigError) {
        // The service's own settings stopped the chunk: retrying soon will not fix them, and their wording (a setting's
        // name, what it should hold) is for operators, so the detail goes to the log and the user reads a plain message.
        log.error('chunk stopped by a configuration error', { stage: input.stage, chunk: input.index, error: err.message });
        outcome = { status: 'failed', error: { message: MISCONFIGURED_MESSAGE, code: 'misconfigured' } };
      } else if (err instanceof NonRetriableError || failures >= input.maxAttempts) {
        outcome = { status: 'failed', error: { message: (err as Error).message, code: err instanceof NonRetriableError ? 'non_retriable' : 'retries_exhausted' } };
      } else {
        log.warn('chunk failed, will be retried', { stage: input.stage, chunk: input.index, failures, error: (err as Error).message });
        await releaseChunk(input, 'pending', { failures, error: { message: (err as Error).message } });
        throw err;
      }
    }
    switch (outcome.status) {
      case 'done':
        await db.query('select longhaul.complete_chunk($1, $2, $3, $4::jsonb, $5, $6, $7)', [
          input.jobId,
          input.stage,
          input.index,
          JSON.stringify(outcome.output ?? null),
          outcome.items ?? 0,
          outcome.units ?? 0,
          input.stageName,
        ]);
        return { status: 'done', stop };
      case 'partial':
        await releaseChunk(input, 'pending', { cursor: outcome.cursor ?? null });
        return { status: 'partial', stop };
      case 'failed': {
        // Only this much of a kind's error (a provider's answer, an issue list) travels in the Durable history.
        const error = boundJobError(outcome.error);
        log.warn('chunk failed for good: the stage stops', { stage: input.stage, chunk: input.index, error: error.message });
        await releaseChunk(input, 'failed', { error });
        return { status: 'failed', error, stop };
      }
    }
  }

  async function finishJob(input: FinishJobInput, log: Logger = silentLog): Promise<{ status: string }> {
    const { rows } = await db.query<JobRow>('select id, user_id, kind, status, attempt, cancel_requested_at from public.jobs where id = $1', [input.jobId]);
    const job = rows[0];
    if (!job) return { status: 'missing' };
    if (job.attempt !== input.attempt || isEnded(job.status)) return { status: job.status };
    const kind = findKind(job.kind);
    let result: { status: string }[];
    if (input.outcome === 'completed' && kind) {
      const summary = await kind.finish(db, record(job));
      result = (await db.query<{ status: string }>('select status from longhaul.complete_job($1, $2, $3::jsonb, $4)', [input.jobId, input.attempt, JSON.stringify(summary), ACTOR])).rows;
    } else if (input.outcome === 'cancelled') {
      result = (await db.query<{ status: string }>('select status from longhaul.finish_cancel($1, $2, $3)', [input.jobId, input.attempt, ACTOR])).rows;
    } else {
      await kind?.onFailed?.(db, record(job));
      const error: JobError = input.error ?? { message: kind ? 'the job failed' : `no module for job kind "${job.kind}"` };
      // Counted in jobs.failed by failJob, only by the call that made the transition.
      result = [await failJob(db, input.jobId, input.attempt, error, ACTOR)];
    }
    const status = result[0]?.status ?? 'missing';
    log.info('job finished', { outcome: input.outcome, status });
    if (status === 'completed') telemetry().jobsCompleted.add(1, { 'longhaul.kind': job.kind });
    if (status === 'failed') {
      // After the transition has committed and not awaited: a slow or broken receiver cannot hold the job back.
      const notice = { reason: 'failed' as const, jobId: input.jobId, attempt: input.attempt, kind: job.kind, status, error: input.error ?? null };
      void deps.notifier?.notifyOnce(db, notice, log);
    }
    return { status };
  }

  return { startJob, planStage, nextChunks, runChunk, finishJob };
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;

/** Validates a job input with the kind's schema and checks; errors name the field. */
export function parseInput(kind: JobKind<unknown>, input: unknown): unknown {
  const parsed = kind.schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['input', ...i.path].map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`)).join(''), message: i.message }));
    throw new ValidationError(`${issues[0]?.path}: ${issues[0]?.message}`, issues);
  }
  kind.check?.(parsed.data);
  return parsed.data;
}

/**
 * A transient error as Durable records it (message and stack go into the history): a provider's whole error page
 * would not fit the Durable Task Scheduler's 1 MiB message, so a long message is cut to JOB_ERROR_BOUNDS.
 */
function boundedThrow(err: unknown): unknown {
  if (!(err instanceof Error) || err.message.length <= JOB_ERROR_BOUNDS.messageChars) return err;
  const bounded = new Error(boundJobError({ message: err.message }).message);
  bounded.name = err.name;
  return bounded;
}

const silentLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silentLog };
