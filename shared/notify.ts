/**
 * Operator notifications to NOTIFY_WEBHOOK_URL: a job failed, or an attempt has run longer than
 * NOTIFY_LONG_RUNNING_MINUTES. One JSON body that Slack incoming webhooks (`text`) and Discord webhooks (`content`)
 * both accept, plus structured fields for anything else. Once per job attempt and reason: the database claims the
 * notification (longhaul.job_notifications) before it is sent. A notification never blocks or fails a job: it is sent
 * after the state transition, under a short timeout, and every error is logged and swallowed (at most once: a
 * receiver that is down misses that notice).
 */
import type { Queryable } from './db';
import type { Logger } from './log';

export type NoticeReason = 'failed' | 'long_running';

/** What a notice says about a job. */
export interface JobNotice {
  reason: NoticeReason;
  jobId: string;
  attempt: number;
  kind: string;
  status: string;
  error?: { message?: string; code?: string } | null;
  /** long_running: seconds the attempt has been running. */
  runningSeconds?: number;
  progress?: { done?: number; total?: number; percent?: number } | null;
}

export interface Notifier {
  /** Claims the job attempt's notice for `reason` and sends it; false when already claimed or not sent. Never throws. */
  notifyOnce(db: Queryable, notice: JobNotice, log: Logger): Promise<boolean>;
  /** Sends a notice already claimed. Never throws. */
  send(notice: JobNotice, log: Logger): Promise<boolean>;
}

// Discord rejects content over 2,000 characters; Slack truncates long text anyway.
const MAX_TEXT = 1900;

/** The webhook body: `text` (Slack), `content` (Discord) and structured fields. */
export function noticeBody(notice: JobNotice): Record<string, unknown> {
  const what =
    notice.reason === 'failed'
      ? `failed on attempt ${notice.attempt}: ${notice.error?.message ?? 'no error message'}`
      : `has been running for ${Math.round((notice.runningSeconds ?? 0) / 60)} min (attempt ${notice.attempt}${notice.progress?.percent !== undefined ? `, ${notice.progress.percent}% done` : ''})`;
  const text = `longhaul: ${notice.kind} job ${notice.jobId} ${what}`.slice(0, MAX_TEXT);
  return {
    text,
    content: text,
    event: notice.reason === 'failed' ? 'job.failed' : 'job.long_running',
    job: { id: notice.jobId, kind: notice.kind, attempt: notice.attempt, status: notice.status, error: notice.error ?? null, progress: notice.progress ?? null },
    ...(notice.runningSeconds !== undefined ? { runningSeconds: Math.round(notice.runningSeconds) } : {}),
  };
}

export function createNotifier(opts: { url?: string; timeoutMs: number }): Notifier | undefined {
  const { url, timeoutMs } = opts;
  if (!url) return undefined;
  const send = async (notice: JobNotice, log: Logger): Promise<boolean> => {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(noticeBody(notice)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection is released.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        log.warn('notification not accepted', { reason: notice.reason, status: res.status });
        return false;
      }
      return true;
    } catch (err) {
      // Never the URL: a Slack or Discord webhook URL is a secret.
      log.warn('notification not sent', { reason: notice.reason, error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message });
      return false;
    }
  };
  return {
    send,
    async notifyOnce(db, notice, log) {
      try {
        const { rows } = await db.query<{ claimed: boolean }>('select longhaul.claim_notification($1, $2, $3) as claimed', [notice.jobId, notice.attempt, notice.reason]);
        if (!rows[0]?.claimed) return false;
      } catch (err) {
        log.warn('notification not claimed', { reason: notice.reason, error: (err as Error).message });
        return false;
      }
      return send(notice, log);
    },
  };
}

/** Sweeper: claims the notices due now (failed jobs of the last 15 minutes not yet notified, long-running attempts) and sends them. */
export async function sendDueNotices(db: Queryable, notifier: Notifier, longRunningMs: number, log: Logger): Promise<number> {
  const { rows } = await db.query<{ job_id: string; attempt: number; reason: NoticeReason; kind: string; status: string; error: JobNotice['error']; progress: JobNotice['progress']; running_since: Date | null }>(
    'select * from longhaul.claim_notifications($1::interval, $2::interval, $3)',
    // Failed jobs are normally notified by finishJob at once; this catches failures from elsewhere (poison queue, the
    // sweeper itself). The 15-minute window keeps a newly configured URL from announcing old failures.
    [longRunningMs > 0 ? `${longRunningMs} milliseconds` : null, '15 minutes', 50],
  );
  const results = await Promise.all(
    rows.map((r) =>
      notifier.send(
        {
          reason: r.reason,
          jobId: r.job_id,
          attempt: r.attempt,
          kind: r.kind,
          status: r.status,
          error: r.error,
          progress: r.progress,
          runningSeconds: r.running_since ? (Date.now() - r.running_since.getTime()) / 1000 : undefined,
        },
        log.child({ jobId: r.job_id, attempt: r.attempt }),
      ),
    ),
  );
  return results.filter(Boolean).length;
}
