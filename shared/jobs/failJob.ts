/**
 * Failing a job attempt, from any path (finishJob, a poison delivery, the sweeper): `longhaul.fail_job` refunds once
 * and does nothing to an attempt that already ended, and the jobs-failed counter counts only the call that made the
 * transition — fail_job sets finished_at to now(), the transaction's time, so `finished_at = now()` is true for that
 * call alone (an earlier transition happened in an earlier transaction). The error is stored as the user will read it
 * (publicJobError: a message, never a stack, a server path or a configuration detail), whatever path failed the job.
 */
import type { Queryable } from '../db';
import { telemetry } from '../telemetry';
import { publicJobError } from './publicError';

export interface FailedJob {
  status: string;
  kind: string | null;
  /** This call moved the attempt to `failed` (false when it had already ended, or a newer attempt runs). */
  failedNow: boolean;
}

export async function failJob(db: Queryable, jobId: string, attempt: number, error: unknown, actor: string): Promise<FailedJob> {
  const { rows } = await db.query<{ status: string; kind: string; failed_now: boolean | null }>(
    'select status, kind, finished_at = now() as failed_now from longhaul.fail_job($1, $2, $3::jsonb, $4)',
    [jobId, attempt, JSON.stringify(publicJobError(error)), actor],
  );
  const row = rows[0];
  const failed: FailedJob = { status: row?.status ?? 'missing', kind: row?.kind ?? null, failedNow: row?.status === 'failed' && row.failed_now === true };
  if (failed.failedNow) telemetry().jobsFailed.add(1, { 'longhaul.kind': failed.kind ?? 'unknown' });
  return failed;
}
