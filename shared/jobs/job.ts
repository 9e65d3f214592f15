/** The public `Job` shape of the HTTP API (ARCHITECTURE §4.2), built from a public.jobs row. */

/** Every job status, in state-machine order (the transitions are SQL functions in supabase/migrations). */
export const JOB_STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses an attempt never leaves (a retry starts a new attempt). */
export const ENDED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Whether an attempt in this status has ended (takes any string: rows and API answers carry plain text). */
export function isEnded(status: string): boolean {
  return (ENDED_STATUSES as readonly string[]).includes(status);
}

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  progress: { done: number; total: number; percent: number; stage: string | null; message: string | null };
  attempt: number;
  result: unknown;
  error: unknown;
  creditsCharged: number;
  creditsRefunded: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  queuePosition: number | null;
  /** Estimated seconds until the job finishes (docs/operations.md); null when it cannot be known. */
  etaSeconds: number | null;
  userId: string;
  priority: number;
  idempotencyKey: string | null;
  usage: Record<string, number>;
  cancelRequested: boolean;
}

/** Columns every job query selects (never `input`: it can be megabytes and the API does not echo it). */
export const JOB_COLUMNS = `j.id, j.user_id, j.kind, j.status, j.priority, j.idempotency_key, j.attempt, j.progress, j.result, j.error, j.usage,
  j.credits_charged, j.credits_refunded, j.cancel_requested_at, j.created_at, j.started_at, j.finished_at`;

export interface JobRow {
  id: string;
  user_id: string;
  kind: string;
  status: JobStatus;
  priority: number;
  idempotency_key: string | null;
  attempt: number;
  progress: Job['progress'];
  result: unknown;
  error: unknown;
  usage: Record<string, number>;
  credits_charged: string | number;
  credits_refunded: string | number;
  cancel_requested_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  queue_position?: string | number | null;
  eta_seconds?: string | number | null;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    attempt: row.attempt,
    result: row.result,
    error: row.error,
    creditsCharged: Number(row.credits_charged),
    creditsRefunded: Number(row.credits_refunded),
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    queuePosition: row.queue_position === null || row.queue_position === undefined ? null : Number(row.queue_position),
    etaSeconds: row.eta_seconds === null || row.eta_seconds === undefined ? null : Number(row.eta_seconds),
    userId: row.user_id,
    priority: row.priority,
    idempotencyKey: row.idempotency_key,
    usage: row.usage,
    cancelRequested: row.cancel_requested_at !== null,
  };
}
