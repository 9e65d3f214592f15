/**
 * Human output of the CLI: a Job as labelled lines, lists as aligned tables, stats as a short summary. Every value the
 * API sent reaches the terminal through `labelled`, `table` or `showJson` (terminal.ts), never raw.
 */
import { JOB_STATUSES } from '../../../shared/jobs/job';
import { progressBar } from './progress';
import { show, showJson } from './terminal';
import { describeError, type Job } from './watch';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [header.map(show), ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function labelled(pairs: [string, string | number | null | undefined][]): string {
  const shown = pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [show(k), show(v)] as const);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** A Job as labelled lines, the result as indented JSON below. */
export function formatJob(job: Job & { queuePosition?: number | null; usage?: Record<string, number>; priority?: number; idempotencyKey?: string | null }): string {
  const p = job.progress;
  const usage = job.usage && Object.keys(job.usage).length > 0 ? Object.entries(job.usage).map(([k, v]) => `${k}=${v}`).join(' ') : null;
  const lines = labelled([
    ['id', job.id],
    ['kind', job.kind],
    ['status', job.cancelRequested && job.status === 'running' ? 'running (cancel requested)' : job.status],
    ['queue', job.queuePosition ? `position ${job.queuePosition}` : null],
    ['progress', p ? `${progressBar(p.percent, 20, true)} ${Math.round(p.percent)}% ${p.done}/${p.total}${p.stage ? ` ${p.stage}` : ''}${p.message ? `: ${p.message}` : ''}` : null],
    ['attempt', job.attempt],
    ['priority', job.priority],
    ['key', job.idempotencyKey],
    ['credits', `${job.creditsCharged} charged, ${job.creditsRefunded} refunded`],
    ['usage', usage],
    ['created', job.createdAt],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
    ['error', job.error === null || job.error === undefined ? null : describeError(job.error)],
  ]);
  return job.result === null || job.result === undefined ? lines : `${lines}\nresult\n${showJson(job.result)}`;
}

/** Jobs as a table, one row each. */
export function formatJobList(jobs: Job[]): string {
  if (jobs.length === 0) return 'no jobs';
  return table(
    ['ID', 'KIND', 'STATUS', 'PROGRESS', 'CREATED'],
    jobs.map((j) => [j.id, j.kind, j.status, j.progress ? `${Math.round(j.progress.percent)}% ${j.progress.done}/${j.progress.total}` : '', j.createdAt]),
  );
}

interface LedgerEntry {
  entry: string;
  amount: number;
  balanceAfter: number;
  jobId: string | null;
  reason: string;
  createdAt: string;
}

/** The balance and the ledger as a table. */
export function formatCredits(body: { balance: number; ledger: LedgerEntry[] }): string {
  const head = `balance  ${show(body.balance)}`;
  if (body.ledger.length === 0) return head;
  return `${head}\n\n${table(
    ['CREATED', 'ENTRY', 'AMOUNT', 'BALANCE', 'JOB', 'REASON'],
    body.ledger.map((e) => [e.createdAt, e.entry, e.amount > 0 ? `+${e.amount}` : e.amount, e.balanceAfter, e.jobId ?? '', e.reason]),
  )}`;
}

/** GET /api/stats (contract: dashboard and CLI); fields beyond the contract are shown only by --json. */
export interface Stats {
  generatedAt: string;
  jobs: { byStatus: Record<string, number>; byKindStatus: { kind: string; status: string; count: number }[] };
  queue: { name: string; depth: number | null; poisonName: string; poisonDepth: number | null };
  throughput: { windowMinutes: number; completed: number; failed: number; perMinute: { minute: string; completed: number; failed: number }[] };
  usage: ({ kind: string } & Record<string, unknown>)[];
  rateLimiter: ({ key: string } & Record<string, unknown>)[];
}

const SPARK = ' ▁▂▃▄▅▆▇█';

/** Per-minute counts as one character each, scaled to the busiest minute. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? SPARK[0] : SPARK[Math.ceil((v / max) * (SPARK.length - 1))])).join('');
}

/** The stats as a short summary and tables. */
export function formatStats(s: Stats): string {
  const depth = (n: number | null): string => (n === null ? 'unknown' : String(n));
  const parts = [
    labelled([
      ['generated', s.generatedAt],
      ['jobs', JOB_STATUSES.map((st) => `${st} ${s.jobs.byStatus[st] ?? 0}`).join(' · ')],
      ['queue', `${s.queue.name} ${depth(s.queue.depth)} waiting · ${s.queue.poisonName} ${depth(s.queue.poisonDepth)}`],
      [`last ${s.throughput.windowMinutes}m`, `${s.throughput.completed} completed · ${s.throughput.failed} failed`],
      ['per minute', s.throughput.perMinute.length > 0 ? `|${sparkline(s.throughput.perMinute.map((m) => m.completed + m.failed))}|` : null],
    ]),
  ];
  if (s.jobs.byKindStatus.length > 0) parts.push(table(['KIND', 'STATUS', 'COUNT'], s.jobs.byKindStatus.map((r) => [r.kind, r.status, r.count])));
  if (s.usage.length > 0) {
    const keys = [...new Set(s.usage.flatMap((u) => Object.keys(u).filter((k) => k !== 'kind')))];
    parts.push(table(['KIND', ...keys.map((k) => k.toUpperCase())], s.usage.map((u) => [u.kind, ...keys.map((k) => scalar(u[k]))])));
  }
  if (s.rateLimiter.length > 0) {
    parts.push(table(['LIMITER KEY', 'STATE'], s.rateLimiter.map(({ key, ...state }) => [key, Object.entries(state).map(([k, v]) => `${k}=${scalar(v)}`).join(' ')])));
  }
  return parts.join('\n\n');
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
