import { show } from './terminal';

/**
 * What `longhaul watch` draws: a progress bar, the rate at which work items finish and the time left, from the
 * `progress` of successive Job snapshots. Pure functions and one small estimator, so they are tested without a server.
 */

/** The slice of the API's Job that watch reads. */
export interface JobProgress {
  status: string;
  progress: { done: number; total: number; percent: number; stage: string | null; message: string | null } | null;
  queuePosition?: number | null;
  cancelRequested?: boolean;
}

/** `[#####.....]` for ascii, block characters otherwise; percent is clamped to 0–100. */
export function progressBar(percent: number, width = 24, ascii = false): string {
  const p = Number.isFinite(percent) ? Math.min(100, Math.max(0, percent)) : 0;
  const filled = Math.round((p / 100) * width);
  const [on, off] = ascii ? ['#', '.'] : ['█', '░'];
  return `[${on.repeat(filled)}${off.repeat(width - filled)}]`;
}

/** Items per second as people read it: `12/s`, `2.5/s`, below one a second `30/min`, below one a minute `4/h`. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond) || perSecond <= 0) return '--/s';
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${trim(perSecond)}/s`;
  const perMinute = perSecond * 60;
  if (perMinute >= 1) return `${trim(perMinute)}/min`;
  return `${trim(perMinute * 60)}/h`;
}

function trim(n: number): string {
  return n >= 10 ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, '');
}

/** A duration as `m:ss`, `h:mm:ss`, or `>99h`; `--:--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.ceil(seconds);
  if (s >= 100 * 3600) return '>99h';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Time left at a rate: null when the rate is unknown or nothing is left to measure against. */
export function estimateEta(done: number, total: number, perSecond: number | null): number | null {
  if (total <= 0) return null;
  if (done >= total) return 0;
  if (perSecond === null || perSecond <= 0) return null;
  return (total - done) / perSecond;
}

// Rate over the last 30 s of samples: long enough to smooth chunked progress (a chunk finishes many items at once),
// short enough to follow a provider that slows down.
const RATE_WINDOW_MS = 30_000;

/** Items-per-second from (time, done) samples over a sliding window. */
export class RateEstimator {
  private samples: { at: number; done: number }[] = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  /** Records `done` at time `at` (ms); a drop in `done` (a retry restarting its count) starts over. */
  add(at: number, done: number): void {
    const last = this.samples.at(-1);
    if (last && done < last.done) this.samples = [];
    this.samples.push({ at, done });
    // Keep one sample older than the window so the window is always fully covered.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift();
  }

  /** Items per second, or null until two samples at least 1 ms apart show some work done. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at <= 0 || last.done <= first.done) return null;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }
}

/**
 * One line describing a job's progress: bar, percent, done/total, rate and ETA while running; the queue position
 * while waiting; the final status once finished. `ascii` avoids non-ASCII characters (for logs and pipes).
 */
export function renderProgressLine(job: JobProgress, perSecond: number | null, opts: { ascii?: boolean; width?: number } = {}): string {
  const ascii = opts.ascii ?? false;
  const dot = ascii ? ' - ' : ' · ';
  const p = job.progress ?? { done: 0, total: 0, percent: 0, stage: null, message: null };
  const percent = Math.round(Number.isFinite(p.percent) ? p.percent : 0);
  const parts = [`${progressBar(percent, opts.width ?? 24, ascii)} ${String(percent).padStart(3)}%`];
  if (p.total > 0) parts[0] += ` ${p.done}/${p.total}`;
  let status = job.status;
  if ((status === 'pending' || status === 'queued') && job.queuePosition) status += ` (position ${job.queuePosition})`;
  if (job.cancelRequested && status === 'running') status = 'cancelling';
  parts.push(status);
  if (job.status === 'running') {
    parts.push(formatRate(perSecond));
    parts.push(`ETA ${formatDuration(estimateEta(p.done, p.total, perSecond))}`);
  }
  const detail = [p.stage, p.message].filter((s): s is string => typeof s === 'string' && s.length > 0).join(': ');
  if (detail) parts.push(detail);
  // Status, stage and message come from the server: shown inert, so the line stays one line the \r redraw owns.
  return show(parts.join(dot));
}

/** Truncates a line to the terminal's width so a redraw never wraps (a wrapped line cannot be redrawn with \r). */
export function fitToWidth(line: string, columns: number | undefined): string {
  if (!columns || columns < 10) return line;
  const chars = [...line];
  return chars.length < columns ? line : `${chars.slice(0, columns - 2).join('')}…`;
}
