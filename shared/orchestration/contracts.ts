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
