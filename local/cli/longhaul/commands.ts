/** The `longhaul` commands: their options, help text and what each does with the API. */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './client';
import { EXIT, UsageError } from './errors';
import { formatCredits, formatJob, formatJobList, formatStats, type Stats } from './output';
import { show, showJson } from './terminal';
import { watchJob, type Job, type WatchIo } from './watch';

type Options = NonNullable<ParseArgsConfig['options']>;
/** parseArgs values of one command line. */
export type Values = Record<string, string | boolean | undefined>;

/** What a command receives: parsed values and positionals, a client, and where to write. */
export interface CommandContext {
  values: Values;
  positionals: string[];
  client: ApiClient;
  io: WatchIo & { readStdin(): Promise<string>; stdinIsTTY: boolean };
}

export interface Command {
  usage: string;
  summary: string;
  options: Options;
  /** Lines describing the command's own options, for --help. */
  optionHelp: string[];
  /** Uses the admin key by default (admin-only routes). */
  admin?: boolean;
  positionals: [min: number, max: number];
  run(ctx: CommandContext): Promise<number>;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Options = {
  url: { type: 'string' },
  key: { type: 'string' },
  token: { type: 'string' },
  admin: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_HELP = [
  '--url <url>        API base URL (default: LONGHAUL_URL, then baseUrl of local.json)',
  '--token <jwt>      act as this user: Authorization: Bearer (default: LONGHAUL_TOKEN, then demoUser.token)',
  '--key <key>        act as admin: x-functions-key (default: LONGHAUL_KEY, then adminKey with --admin)',
  '--admin            use the admin key instead of the user token',
  '--json             print exactly the API\'s JSON (errors too), nothing else on stdout',
  '-h, --help         this help',
];

const WATCH_INTERVAL_DEFAULT_MS = 1000;

function intervalOf(values: Values): number {
  const raw = values.interval;
  if (raw === undefined) return WATCH_INTERVAL_DEFAULT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 50 || ms > 600_000) throw new UsageError(`--interval must be milliseconds between 50 and 600000, got ${String(raw)}`);
  return ms;
}

function jobPath(id: string | undefined, suffix = ''): string {
  if (!id) throw new UsageError('a job id is required');
  return `/api/jobs/${encodeURIComponent(id)}${suffix}`;
}

function print(ctx: CommandContext, body: unknown, human: () => string): number {
  ctx.io.out.write(ctx.values.json ? `${showJson(body, 0)}\n` : `${human()}\n`);
  return EXIT.ok;
}

async function readInput(ctx: CommandContext): Promise<unknown> {
  const [, source] = ctx.positionals;
  const inline = ctx.values.input;
  if (typeof inline === 'string' && source !== undefined) throw new UsageError('give the input either as --input or as a file, not both');
  let text: string;
  let from: string;
  if (typeof inline === 'string') [text, from] = [inline, '--input'];
  else if (source !== undefined && source !== '-') {
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    from = source;
  } else if (source === '-' || !ctx.io.stdinIsTTY) [text, from] = [await ctx.io.readStdin(), 'stdin'];
  else throw new UsageError('no input: give a file, - for stdin, or --input \'<json>\'');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`input from ${from} is not JSON: ${(err as Error).message}`);
  }
}

export const COMMANDS: Record<string, Command> = {
  submit: {
    usage: 'longhaul submit <kind> [file|-] [--input <json>] [--idempotency-key <key>] [--priority <n>] [--watch]',
    summary: 'submit a job (input JSON from a file, stdin or --input); prints the job, or watches it with --watch',
    options: {
      input: { type: 'string' },
      'idempotency-key': { type: 'string' },
      priority: { type: 'string' },
      user: { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string' },
    },
    optionHelp: [
      '<kind>                    workflow, rag_ingestion, recording_analysis, image_generation, brief_pipeline',
      '[file|-]                  the job input as JSON; - (or a pipe) reads stdin',
      '--input <json>            the job input inline instead of a file',
      '--idempotency-key <key>   submitting again with the same key returns the same job',
      '--priority <n>            higher runs first among waiting jobs',
      '--user <uuid>             with the admin key: submit for this user',
      '-w, --watch               then watch it (exit codes as for watch)',
      '--interval <ms>           with --watch: poll every ms (1000)',
    ],
    positionals: [1, 2],
    async run(ctx) {
      const kind = ctx.positionals[0]!;
      const input = await readInput(ctx);
      const body: Record<string, unknown> = { kind, input };
      if (ctx.values['idempotency-key'] !== undefined) body.idempotencyKey = ctx.values['idempotency-key'];
      if (ctx.values.user !== undefined) body.userId = ctx.values.user;
      if (ctx.values.priority !== undefined) {
        const priority = Number(ctx.values.priority);
        if (!Number.isInteger(priority)) throw new UsageError(`--priority must be an integer, got ${String(ctx.values.priority)}`);
        body.priority = priority;
      }
      const intervalMs = intervalOf(ctx.values);
      const job = await ctx.client.request<Job>('POST', '/api/jobs', body);
      if (!ctx.values.watch) return print(ctx, job, () => formatJob(job));
      if (!ctx.values.json) ctx.io.err.write(`submitted ${show(job.kind)} job ${show(job.id)}\n`);
      return watchJob(ctx.client, job.id, { json: ctx.values.json === true, intervalMs, initial: job }, ctx.io);
    },
  },
  status: {
    usage: 'longhaul status <id>',
    summary: 'show a job: status, progress, credits, result or error',
    options: {},
    optionHelp: [],
    positionals: [1, 1],
    async run(ctx) {
      const job = await ctx.client.request<Job>('GET', jobPath(ctx.positionals[0]));
      return print(ctx, job, () => formatJob(job));
    },
  },
  watch: {
    usage: 'longhaul watch <id> [--interval <ms>]',
    summary: 'follow a job until it ends: progress bar, rate and ETA; then the result (exit 0) or the error (exit 1)',
    options: { interval: { type: 'string' } },
    optionHelp: [
      '--interval <ms>   poll every ms (1000)',
      'On a terminal one line is redrawn; otherwise a line is printed per change (no escape codes).',
      'The result goes to stdout, the summary and errors to stderr. --json prints each changed Job as a JSON line.',
      'Ctrl-C stops watching; the job keeps running (longhaul cancel <id> stops it).',
    ],
    positionals: [1, 1],
    async run(ctx) {
      return watchJob(ctx.client, ctx.positionals[0]!, { json: ctx.values.json === true, intervalMs: intervalOf(ctx.values) }, ctx.io);
    },
  },
  list: {
    usage: 'longhaul list [--status <s>] [--kind <k>] [--limit <n>] [--cursor <c>]',
    summary: 'list jobs, newest first (a user sees their own; the admin key sees everyone\'s)',
    options: { status: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, user: { type: 'string' } },
    optionHelp: [
      '--status <s>     pending, queued, running, completed, failed or cancelled',
      '--kind <k>       only jobs of this kind',
      '--limit <n>      1–100 (20)',
      '--cursor <c>     the next page (printed under the table when there is one)',
      '--user <uuid>    with the admin key: only this user\'s jobs',
    ],
    positionals: [0, 0],
    async run(ctx) {
      const q = new URLSearchParams();
      for (const name of ['status', 'kind', 'limit', 'cursor', 'user'] as const) {
        const v = ctx.values[name];
        if (typeof v === 'string') q.set(name === 'user' ? 'userId' : name, v);
      }
      const qs = q.toString();
      const page = await ctx.client.request<{ jobs: Job[]; nextCursor: string | null }>('GET', `/api/jobs${qs ? `?${qs}` : ''}`);
      const code = print(ctx, page, () => formatJobList(page.jobs));
      if (!ctx.values.json && page.nextCursor) ctx.io.err.write(`more: longhaul list --cursor ${show(page.nextCursor)}\n`);
      return code;
    },
  },
  cancel: {
    usage: 'longhaul cancel <id>',
    summary: 'cancel a job (a waiting job at once; a running one after its in-flight work)',
    options: {},
    optionHelp: [],
    positionals: [1, 1],
    async run(ctx) {
      const job = await ctx.client.request<Job>('POST', jobPath(ctx.positionals[0], '/cancel'));
      return print(ctx, job, () => formatJob(job));
    },
  },
  retry: {
    usage: 'longhaul retry <id> [--watch]',
    summary: 'start a new attempt of a failed or cancelled job (finished work is kept)',
    options: { watch: { type: 'boolean', short: 'w' }, interval: { type: 'string' } },
    optionHelp: ['-w, --watch       then watch it (exit codes as for watch)', '--interval <ms>   with --watch: poll every ms (1000)'],
    positionals: [1, 1],
    async run(ctx) {
      const intervalMs = intervalOf(ctx.values);
      const job = await ctx.client.request<Job>('POST', jobPath(ctx.positionals[0], '/retry'));
      if (!ctx.values.watch) return print(ctx, job, () => formatJob(job));
      return watchJob(ctx.client, job.id, { json: ctx.values.json === true, intervalMs, initial: job }, ctx.io);
    },
  },
  stats: {
    usage: 'longhaul stats',
    summary: 'jobs by status and kind, queue and poison depth, last hour\'s throughput, usage, rate limiter (admin)',
    options: {},
    optionHelp: ['Uses the admin key unless --token is given.'],
    admin: true,
    positionals: [0, 0],
    async run(ctx) {
      const stats = await ctx.client.request<Stats>('GET', '/api/stats');
      return print(ctx, stats, () => formatStats(stats));
    },
  },
  credits: {
    usage: 'longhaul credits',
    summary: 'your credit balance and latest ledger entries (a user token, not the admin key)',
    options: {},
    optionHelp: [],
    positionals: [0, 0],
    async run(ctx) {
      const body = await ctx.client.request<Parameters<typeof formatCredits>[0]>('GET', '/api/credits');
      return print(ctx, body, () => formatCredits(body));
    },
  },
};
