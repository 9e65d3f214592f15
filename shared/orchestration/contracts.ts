/**
 * Names and shapes exchanged between the job orchestrations and their activities. Only ids, counters and short
 * messages cross the Durable history: chunk inputs and outputs stay in Postgres (ARCHITECTURE §1).
 */

export const FN = {
  jobOrchestrator: 'jobOrchestrator',
  stageRunner: 'stageRunner',
  startJob: 'startJob',
  planStage: 'planStage',
  nextChunks: 'nextChunks',
  runChunk: 'runChunk',
  finishJob: 'finishJob',
} as const;

/** One attempt of one job: the orchestration instance id is `job-<jobId>-<attempt>`. */
export interface JobRef {
  jobId: string;
  attempt: number;
}

export function jobInstanceId(ref: JobRef): string {
  return `job-${ref.jobId}-${ref.attempt}`;
}

/** Engine limits the orchestrations are started with (from configuration, read by the activity that starts the job). */
export interface EngineLimits {
  /** Chunks in flight at once per stage (P). */
  maxInFlight: number;
  /** Chunk activity calls per stageRunner generation before continueAsNew (K): bounds every history. */
  perGeneration: number;
  /** Tries of one chunk before it fails the job. */
  maxAttempts: number;
}

export interface JobError {
  message: string;
  code?: string;
  key?: string;
  details?: unknown;
}

/**
 * Bounds on a JobError crossing the Durable history (the Durable Task Scheduler refuses messages over 1 MiB, and every
 * replay reads them): a zod issue list of a 200,000-node input, a provider's error page or a stack would not fit.
 */
export const JOB_ERROR_BOUNDS = { messageChars: 2_000, issues: 20, issueChars: 500, detailsChars: 16 * 1024 } as const;

/** The error cut to JOB_ERROR_BOUNDS: the message and each issue truncated, the first issues kept, other details dropped when large. */
export function boundJobError(error: JobError): JobError {
  const bounded: JobError = { message: truncate(error.message, JOB_ERROR_BOUNDS.messageChars) };
  if (error.code !== undefined) bounded.code = truncate(String(error.code), 100);
  if (error.key !== undefined) bounded.key = truncate(String(error.key), 200);
  if (error.details === undefined) return bounded;
  const { issues, moreIssues } = (error.details ?? {}) as { issues?: unknown; moreIssues?: unknown };
  if (Array.isArray(issues)) {
    const kept = issues.slice(0, JOB_ERROR_BOUNDS.issues).map((i: { path?: unknown; message?: unknown }) => ({
      path: truncate(String(i?.path ?? ''), JOB_ERROR_BOUNDS.issueChars),
      message: truncate(String(i?.message ?? ''), JOB_ERROR_BOUNDS.issueChars),
    }));
    const more = issues.length - kept.length + (typeof moreIssues === 'number' ? moreIssues : 0);
    bounded.details = more > 0 ? { issues: kept, moreIssues: more } : { issues: kept };
  } else if (jsonChars(error.details) <= JOB_ERROR_BOUNDS.detailsChars) {
    bounded.details = error.details;
  }
  return bounded;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function jsonChars(value: unknown): number {
  try {
    return (JSON.stringify(value) ?? '').length;
  } catch {
    return Infinity;
  }
}

export interface StartJobResult {
  run: boolean;
  status: string;
  limits: EngineLimits;
  /**
   * Stage 0, planned by startJob in the same activity (one activity and one episode fewer per job). Absent when that
   * planning threw: the orchestration then calls planStage, whose failures it turns into a failed, refunded job.
   */
  firstStage?: PlanStageResult;
}

export interface PlanStageInput extends JobRef {
  stage: number;
  /** When no stage is left, complete the job in this activity (exactly what finishJob does for `completed`). */
  completeIfDone?: boolean;
}

/** A planned stage, an invalid input, the job completed (with `completeIfDone`), or no stage left. */
export type PlanStageResult = { name: string; chunks: number } | { invalid: JobError } | { finished: string } | null;

export interface NextChunksInput extends JobRef {
  stage: number;
  from: number;
  limit: number;
}

export interface NextChunksResult {
  /** [index, after] of chunks not yet done, in index order. */
  chunks: [number, number][];
  more: boolean;
  stop: boolean;
}

export interface RunChunkInput extends JobRef {
  stage: number;
  stageName: string;
  index: number;
  maxAttempts: number;
}

export interface RunChunkResult {
  status: 'done' | 'partial' | 'wait' | 'failed' | 'stale';
  error?: JobError;
  /** With `wait`: the provider (or the shared limiter) asked for this long a pause before the chunk runs again. */
  retryAfterMs?: number;
  /** The job was asked to stop (cancel): schedule nothing new. */
  stop: boolean;
}

export interface FinishJobInput extends JobRef {
  outcome: 'completed' | 'failed' | 'cancelled';
  error?: JobError;
}

export interface StageRunnerInput extends JobRef {
  stage: number;
  stageName: string;
  from: number;
  generation: number;
  limits: EngineLimits;
}

export interface StageOutcome {
  status: 'done' | 'failed' | 'cancelled';
  error?: JobError;
  generations: number;
}
