/**
 * `npm run bench`: runs the benchmarks on this machine and writes their figures into docs/BENCHMARKS.md (between
 * the markers of each section) with the command and machine notes. Not part of `npm test`.
 *   node dist/bench/run.js [--repeats N] [--only local-host|jobs|throughput|pickup|burst|rag|recording|rate-limit[,…]] [--smoke]
 *   (--n N: jobs and units per system in the throughput benchmark, default 500; --bursts B --per-burst P: the burst
 *   benchmark's shape, default 10 × 1,000)
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startPostgres } from '../local/services/postgres';
import { startAzurite } from '../local/services/azurite';
import { repoRoot } from '../test/support/hostProcess';
import { benchBurst } from './burst';
import { benchPickup, benchThroughput } from './compare';
import { benchJobs, benchRag } from './jobs';
import { benchLocalHost, benchStartup, type Figure } from './localHost';
import { benchRateLimit } from './rateLimit';
import { benchRecording } from './recording';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

// Two significant digits below 0.1, so a small ratio never prints as 0.00.
const num = (v: number): string => (v >= 10 ? v.toFixed(0) : v >= 0.1 || v === 0 ? v.toFixed(2) : v.toPrecision(2));

function table(figures: Figure[]): string {
  const rows = figures.map((f) => `| ${f.name}${f.note ? ` — ${f.note}` : ''} | **${num(f.value)}** ${f.unit} | ${f.runs.map(num).join(', ')} |`);
  return ['| benchmark | median | runs |', '|---|---|---|', ...rows].join('\n');
}

/**
 * Published figures of the Durable backends on Azure (docs/reference platform-limits.md) beside ours, with ratios.
 * They are vendor numbers for one instance, not measured here: the comparison says how far the local host is from
 * being the bottleneck of a test, not which backend is faster in production.
 */
function anchors(figures: Figure[]): string {
  const chain = figures.find((f) => f.name.startsWith('chain'))?.value ?? NaN;
  const fanOut = figures.find((f) => f.name.startsWith('fan-out'))?.value ?? NaN;
  const rows = [
    ['sequential activities, Azure Storage backend (5 activities/s per instance)', `${(200).toFixed(0)} ms per activity`, `${(200 / chain).toFixed(0)}× less overhead`],
    ['fan-out, Azure Storage backend (100 activities/s per instance)', '100 activities/s', `${(fanOut / 100).toFixed(1)}×`],
    ['fan-out, Netherite on 2 cores (≈ 1,708 events/s ≈ 850 activities/s)', '850 activities/s', `${(fanOut / 850).toFixed(1)}×`],
  ];
  return ['| anchor (published, not measured here) | figure | local host vs anchor |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The seeds' polling workers beside our pickup latency, and the issue's goals beside the big workflow. */
function jobAnchors(figures: Figure[]): string {
  const p50 = figures.find((f) => f.name.includes('p50'))?.value ?? NaN;
  const p99 = figures.find((f) => f.name.includes('p99'))?.value ?? NaN;
  const rows = [
    ['insert → running p50: a worker polling every 5 s (seed 000) waits 2,500 ms on average', '2,500 ms', `${(2500 / p50).toFixed(0)}× faster`],
    ['insert → running p50 goal / p99 goal', '≤ 50 ms / ≤ 250 ms', `${p50.toFixed(1)} ms / ${p99.toFixed(1)} ms`],
    ['100,000-node workflow goals', '≤ 120 s, ≤ 512 MB RSS, < 5,000 events per history', 'see above'],
  ];
  return ['| anchor | figure | longhaul |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// Other work shares this 2-core machine while benchmarks run: comparisons are only made within one run.
const NOISE = 'Peers and longhaul were measured back to back in each run on a shared, busy 2-core machine: compare within a run (ratios per run), not absolute figures across runs.';

const SECTIONS = ['local-host', 'jobs', 'throughput', 'pickup', 'burst', 'rag', 'recording', 'rate-limit'];

function writeSection(section: string, body: string): void {
  const file = join(repoRoot, 'docs', 'BENCHMARKS.md');
  const text = readFileSync(file, 'utf8');
  const start = `<!-- bench:${section}:start -->`;
  const end = `<!-- bench:${section}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`docs/BENCHMARKS.md has no ${start} … ${end} markers`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`);
}

async function main(): Promise<void> {
  // --smoke: tiny sizes, one run, nothing written — CI runs it so the benchmark itself cannot rot.
  const smoke = process.argv.includes('--smoke');
  const repeats = smoke ? 1 : Number(arg('repeats', '3'));
  const scratch = mkdtempSync(join(tmpdir(), 'longhaul-bench-'));
  chmodSync(scratch, 0o755);
  // The same Postgres settings as `npm start` (durable: fsync on), not the test cluster's.
  const postgres = await startPostgres({ dataDir: join(scratch, 'pg') });
  const azurite = await startAzurite();
  try {
    const admin = new Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('create database bench');
    await admin.end();
    const databaseUrl = postgres.url.replace(/\/postgres$/, '/bench');
    // --only a,b: just these sections (comma-separated).
    const only = arg('only', '').split(',').filter(Boolean);
    const runs = (section: string): boolean => only.length === 0 || only.includes(section);
    const unknown = only.filter((s) => !SECTIONS.includes(s));
    if (unknown.length > 0) throw new Error(`--only: no benchmark named ${unknown.join(', ')} (one of ${SECTIONS.join(', ')})`);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const header = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (${repeats} runs each, median shown) on ${machine}.`;
    if (runs('local-host')) {
      console.log('local host: chain, fan-out, replay …');
      const figures = await benchLocalHost(databaseUrl, azurite.connectionString, repeats, smoke ? { chain: 50, fanOut: 500 } : undefined);
      console.log('local host: start-up …');
      figures.push(...(await benchStartup(repeats)));
      const body = `${header}\n\n${table(figures)}\n\n${anchors(figures)}`;
      console.log(body);
      if (!smoke) writeSection('local-host', body);
    }
    // The job benchmarks reuse the test harness, which finds its services through these variables.
    process.env.LONGHAUL_TEST_PG_URL = postgres.url;
    process.env.LONGHAUL_TEST_STORAGE = azurite.connectionString;
    // Other suites share this machine: a host start that takes 30 s is slow, not broken.
    process.env.LONGHAUL_TEST_READY_SECONDS ??= '300';
    if (runs('jobs')) {
      console.log('job engine: pickup latency, 100,000-node workflow …');
      const figures = await benchJobs(repeats, smoke ? { inserts: 20, nodes: 2_000 } : undefined);
      const body = `${header}\n\n${table(figures)}\n\n${jobAnchors(figures)}`;
      console.log(body);
      if (!smoke) writeSection('jobs', body);
    }
    if (runs('throughput')) {
      console.log('throughput: graphile-worker, pg-boss and longhaul on the same cluster …');
      const n = smoke ? 50 : Number(arg('n', '500'));
      const figures = await benchThroughput(postgres.url, repeats, n);
      const body = `${header} ${NOISE}\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('throughput', body);
    }
    if (runs('pickup')) {
      console.log('pickup: longhaul and a 5 s polling worker …');
      const figures = await benchPickup(postgres.url, repeats, smoke ? { inserts: 10, pollSamples: 2, pollGapMs: 200 } : undefined);
      const body = `${header} ${NOISE}\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('pickup', body);
    }
    if (runs('burst')) {
      console.log('burst: jobs submitted in bursts of INSERTs …');
      const figures = await benchBurst(repeats, smoke ? { bursts: 2, perBurst: 20 } : { bursts: Number(arg('bursts', '10')), perBurst: Number(arg('per-burst', '1000')) });
      const body = `${header}\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('burst', body);
    }
    if (runs('rag')) {
      console.log('rag_ingestion: a 10,000-segment transcript …');
      const figures = await benchRag(smoke ? 500 : 10_000);
      const body = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (one run) on ${machine}.\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('rag', body);
    }
    if (runs('recording')) {
      console.log('recording_analysis: a 3-hour recording …');
      const figures = await benchRecording(smoke ? 120 : 3 * 3600);
      const body = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (one run) on ${machine}.\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('recording', body);
    }
    if (runs('rate-limit')) {
      console.log('rate limit: three processes sharing one provider limit …');
      const rateDb = postgres.url.replace(/\/postgres$/, '/bench_rate');
      const admin2 = new Client({ connectionString: postgres.url });
      await admin2.connect();
      await admin2.query('create database bench_rate');
      await admin2.end();
      const figures = await benchRateLimit(rateDb, smoke ? 10_000 : 180_000);
      const body = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (one run of ${smoke ? 10 : 180} s per limiter) on ${machine}.\n\n${table(figures)}`;
      console.log(body);
      if (!smoke) writeSection('rate-limit', body);
    }
  } finally {
    await azurite.stop();
    await postgres.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
