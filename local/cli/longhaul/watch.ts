/**
 * `longhaul watch`: polls GET /api/jobs/{id} until the job finishes. On a terminal one line is redrawn in place; in a
 * pipe or log (not a TTY) a plain line is printed each time the progress or status changes; with --json each changed
 * Job is printed as one line of JSON. Ends with the result (exit 0) or the error (exit 1).
 */
import { isEnded, type Job as ApiJob } from '../../../shared/jobs/job';
import type { ApiClient } from './client';
import { ApiError, EXIT, NetworkError } from './errors';
import { fitToWidth, formatDuration, RateEstimator, renderProgressLine, type JobProgress } from './progress';
import { show, showJson } from './terminal';

/** The API's Job (shared/jobs/job.ts), as far as the CLI reads it. */
export type Job = JobProgress &
  Pick<ApiJob, 'id' | 'kind' | 'attempt' | 'result' | 'error' | 'creditsCharged' | 'creditsRefunded' | 'createdAt' | 'startedAt' | 'finishedAt'>;

/** Where watch writes, and how the terminal looks (injected so tests and the TTY check stay in one place). */
export interface WatchIo {
  out: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  err: { write(s: string): unknown };
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** How watch polls and prints. */
export interface WatchOptions {
  json: boolean;
  intervalMs: number;
  /** The Job already known (submit --watch), drawn before the first poll. */
  initial?: Job;
}

// A host restart or a brief network hiccup should not end a long watch; this many failed polls in a row does.
const MAX_CONSECUTIVE_FAILURES = 5;

export async function watchJob(client: ApiClient, id: string, opts: WatchOptions, io: WatchIo): Promise<number> {
  const tty = io.out.isTTY === true && !opts.json;
  const rate = new RateEstimator();
  let lastKey = '';
  let lastJson = '';
  let failures = 0;
  let job = opts.initial;
  let drewLine = false;

  for (;;) {
    if (!job) {
      try {
        job = await client.request<Job>('GET', `/api/jobs/${encodeURIComponent(id)}`);
        failures = 0;
      } catch (err) {
        const transient = err instanceof NetworkError || (err instanceof ApiError && err.status >= 500);
        if (!transient || ++failures >= MAX_CONSECUTIVE_FAILURES) {
          if (drewLine && tty) io.out.write('\n');
          throw err;
        }
        await io.sleep(opts.intervalMs);
        continue;
      }
    }
    rate.add(io.now(), job.progress?.done ?? 0);
    const done = isEnded(job.status);

    if (opts.json) {
      const line = showJson(job, 0);
      if (line !== lastJson) io.out.write(`${line}\n`);
      lastJson = line;
    } else {
      const line = renderProgressLine(job, rate.rate(), { ascii: !tty });
      if (tty) {
        // \r and erase-line redraw in place; truncate so the line never wraps.
        io.out.write(`\r\x1b[2K${fitToWidth(line, io.out.columns)}`);
        drewLine = true;
      } else {
        const p = job.progress;
        const key = [job.status, p?.done, p?.total, p?.percent, p?.stage, p?.message, job.queuePosition, job.cancelRequested].join('|');
        if (key !== lastKey) io.out.write(`${line}\n`);
        lastKey = key;
      }
    }

    if (done) {
      if (tty) io.out.write('\n');
      if (!opts.json) printOutcome(job, io);
      return job.status === 'completed' ? EXIT.ok : EXIT.jobFailed;
    }
    job = undefined;
    await io.sleep(opts.intervalMs);
  }
}

function printOutcome(job: Job, io: WatchIo): void {
  const took = job.startedAt && job.finishedAt ? ` in ${formatDuration((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000)}` : '';
  const credits = `${job.creditsCharged - job.creditsRefunded} credits`;
  if (job.status === 'completed') {
    io.err.write(`job ${show(job.id)} completed${took} (${credits})\n`);
    io.out.write(`${showJson(job.result)}\n`);
    return;
  }
  io.err.write(`job ${show(job.id)} ${show(job.status)}${took} (${credits}${job.creditsRefunded ? `, ${job.creditsRefunded} refunded` : ''})\n`);
  if (job.error !== null && job.error !== undefined) io.err.write(`error: ${describeError(job.error)}\n`);
}

/** A job's error as one readable, inert line: its message, with its code when it has one. */
export function describeError(error: unknown): string {
  if (typeof error === 'string') return show(error);
  const e = error as { code?: unknown; message?: unknown };
  if (e && typeof e.message === 'string') return show(typeof e.code === 'string' ? `${e.code}: ${e.message}` : e.message);
  return show(error);
}
