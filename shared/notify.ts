/**
 * Operator notifications to NOTIFY_WEBHOOK_URL: a job failed, or an attempt has run longer than
 * NOTIFY_LONG_RUNNING_MINUTES. One JSON body that Slack incoming webhooks (`text`) and Discord webhooks (`content`)
 * both accept, each escaped for its chat, plus structured fields for anything else. Once per job attempt and reason: the database claims the
 * notification (longhaul.job_notifications) before it is sent. A notification never blocks or fails a job: it is sent
 * after the state transition, under a short timeout, and every error is logged and swallowed (at most once: a
 * receiver that is down misses that notice).
 */
import type { Queryable } from './db';
import type { Logger } from './log';
import { userMessage } from './jobs/publicError';
import { escapeControlChars } from './safeText';

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
// The error is user text (a provider's answer to a user's prompt): without stack frames or server paths (an operator
// reads those in the logs), cut before escaping, which can lengthen it.
const MAX_ERROR_CHARS = 600;

// A zero-width space after the @ keeps @everyone/@here/@channel readable and keeps any chat from treating it as a mention.
const defuseMentions = (s: string): string => s.replace(/@(everyone|here|channel)/gi, '@\u200b$1');

/**
 * Slack mrkdwn: `&`, `<` and `>` are its escapes (Slack's own rule); every special form — `<!channel>`, `<@U123>`,
 * `<http://x|disguised text>` — starts with `<`, so escaped text can neither ping nor carry a link with its own text.
 */
export function slackText(s: string): string {
  const escaped = defuseMentions(escapeControlChars(s)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // Slack has no escape for [text](url), which some of its clients render as a link: split it with a zero-width space.
  return escaped.replace(/\]\(/g, ']\u200b(');
}

/**
 * Discord markdown: a backslash before each markdown character shows it as itself — no masked link `[text](url)` (its
 * brackets are escaped; parentheses alone do nothing), no `<@id>` mention, no formatting. `#`, `-` and `>` act only at the start of a line, and the text is one line (its
 * newlines are escaped). Pings are also refused by the body's `allowed_mentions`.
 */
export function discordText(s: string): string {
  return defuseMentions(escapeControlChars(s)).replace(/[\\*_~`|<>[\]]/g, '\\$&');
}

function clip(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** The notice's sentence; `esc` escapes the parts that come from the job (its kind, id and error) for the chat. */
function sentence(notice: JobNotice, esc: (s: string) => string): string {
  const what =
    notice.reason === 'failed'
      ? `failed on attempt ${notice.attempt}: ${esc(clip(userMessage(notice.error?.message ?? '') || 'no error message', MAX_ERROR_CHARS))}`
      : `has been running for ${Math.round((notice.runningSeconds ?? 0) / 60)} min (attempt ${notice.attempt}${notice.progress?.percent !== undefined ? `, ${esc(String(notice.progress.percent))}% done` : ''})`;
  return clip(`longhaul: ${esc(notice.kind)} job ${esc(notice.jobId)} ${what}`, MAX_TEXT);
}

/**
 * The webhook body: `text` (Slack mrkdwn), `content` (Discord markdown), each escaped for its chat, and structured
 * fields (JSON data, as the job holds them) for any other receiver.
 */
export function noticeBody(notice: JobNotice): Record<string, unknown> {
  return {
    text: sentence(notice, slackText),
    content: sentence(notice, discordText),
    // Discord: ping no one, whatever the text says.
    allowed_mentions: { parse: [] },
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
