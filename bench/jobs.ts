/**
 * Job engine benchmarks (issue: the job engine): insert -> orchestration running latency over many inserts, and a
 * 100,000-node workflow with the offline model (wall time, the host's peak RSS, the largest Durable history of any
 * instance during the run). The app runs in a host process on the benchmark's Postgres and Azurite, as in tests.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isEnded } from '../shared/jobs/job';
import { startJobsApp, type JobsApp, type TestUser } from '../test/support/jobsApp';
import { median, type Figure } from './localHost';

export interface JobSizes {
  inserts: number;
  nodes: number;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Pickup: insert → `running`, one insert at a time. `idle` (the default) inserts the next job only once the previous
 * one has ended, so every sample is an idle system's answer, as the polling worker's are (its jobs end at once).
 * `back-to-back` inserts as soon as the previous job is running, while the host is still finishing it.
 */
export async function pickupLatency(app: JobsApp, user: TestUser, inserts: number, pace: 'idle' | 'back-to-back' = 'idle'): Promise<number[]> {
  const samples: number[] = [];
  const input = JSON.stringify({ nodes: [{ id: 'a', type: 'text', text: 'ping' }] });
  const status = async (id: string): Promise<string> => (await app.pool.query<{ status: string }>('select status from public.jobs where id = $1', [id])).rows[0]?.status ?? 'missing';
  for (let i = 0; i < inserts; i++) {
    const client = await app.pool.connect();
    let id: string;
    try {
      await client.query('begin');
      await client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: user.id, role: 'authenticated' })]);
      id = (await client.query<{ id: string }>("insert into public.jobs (kind, input) values ('workflow', $1) returning id", [input])).rows[0]!.id;
      await client.query('commit');
    } finally {
      client.release();
    }
    const committed = performance.now();
    while (['pending', 'queued'].includes(await status(id))) await new Promise((r) => setTimeout(r, 1));
    samples.push(performance.now() - committed);
    if (pace === 'idle') {
      const deadline = Date.now() + 60_000;
      while (!isEnded(await status(id))) {
        if (Date.now() > deadline) throw new Error(`pickup job ${id} did not end within 60 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }
  return samples;
}

/** A layered DAG: `width` nodes per level, each depending on two nodes of the level above; half llm, a third template. */
export function layeredWorkflow(nodes: number, width = 1000): { nodes: unknown[] } {
  const out: unknown[] = [];
  for (let i = 0; i < nodes; i++) {
    const level = Math.floor(i / width);
    const id = `n${i}`;
    if (level === 0) {
      out.push({ id, type: 'text', text: `seed ${i}` });
      continue;
    }
    const a = `n${(level - 1) * width + (i % width)}`;
    const b = `n${(level - 1) * width + ((i * 7 + 3) % width)}`;
    const inputs = a === b ? [a] : [a, b];
    const refs = inputs.map((r) => `{{${r}}}`).join(' and ');
    if (i % 6 < 3) out.push({ id, type: 'llm', prompt: `Combine ${refs} into one sentence.`, inputs });
    else if (i % 6 < 5) out.push({ id, type: 'template', template: `${refs}`, inputs });
    else out.push({ id, type: 'text', text: `fact ${i}` });
  }
  return { nodes: out };
}

export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function bigWorkflow(app: JobsApp, nodes: number): Promise<{ seconds: number; rssMb: number; history: number; status: string }> {
  const user = await app.createUser(nodes);
  const input = layeredWorkflow(nodes);
  let largest = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await app.pool.query<{ n: number }>('select count(*)::int as n from durabletask.history group by instance_id order by 1 desc limit 1');
      largest = Math.max(largest, rows[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'workflow', input });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 900_000);
  sampling = false;
  await sampler;
  const { rows } = await app.pool.query<{ secs: number }>('select extract(epoch from finished_at - created_at)::float8 as secs from public.jobs where id = $1', [res.body.id]);
  return { seconds: rows[0]!.secs, rssMb: peakRssMb(app.host.child.pid!), history: largest, status: String(job.status) };
}

export async function benchJobs(repeats: number, sizes: JobSizes = { inserts: 200, nodes: 100_000 }): Promise<Figure[]> {
  const figures: Figure[] = [];
  const app = await startJobsApp({ name: 'bench_jobs', env: { LONGHAUL_LOG_LEVEL: 'error' } });
  try {
    const user = await app.createUser(sizes.inserts * repeats + 10);
    await pickupLatency(app, user, 5);
    const p50: number[] = [];
    const p99: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const samples = await pickupLatency(app, user, sizes.inserts);
      p50.push(percentile(samples, 50));
      p99.push(percentile(samples, 99));
    }
    figures.push({ name: `insert → running, p50 over ${sizes.inserts} inserts`, value: median(p50), unit: 'ms', runs: p50 });
    figures.push({ name: `insert → running, p99 over ${sizes.inserts} inserts`, value: median(p99), unit: 'ms', runs: p99 });
  } finally {
    await app.stop();
  }
  const wall: number[] = [];
  const rss: number[] = [];
  const history: number[] = [];
  for (let i = 0; i < repeats; i++) {
    // A fresh host per run: its peak RSS is this job's.
    const big = await startJobsApp({ name: 'bench_workflow', env: { LONGHAUL_LOG_LEVEL: 'error' } });
    try {
      const r = await bigWorkflow(big, sizes.nodes);
      if (r.status !== 'completed') throw new Error(`the ${sizes.nodes}-node workflow ended ${r.status}`);
      wall.push(r.seconds);
      rss.push(r.rssMb);
      history.push(r.history);
    } finally {
      await big.stop();
    }
  }
  // One more run with a forced GC every 2 s: the live heap is what the job needs; the RSS above is also what V8's lazy
  // collection lets the heap grow to on a machine with gigabytes free.
  const heapFile = join(mkdtempSync(join(tmpdir(), 'longhaul-heap-')), 'heap.json');
  const probed = await startJobsApp({
    name: 'bench_workflow_gc',
    env: { LONGHAUL_LOG_LEVEL: 'error', NODE_OPTIONS: `--expose-gc --require ${join(__dirname, 'heapProbe.js')}`, LONGHAUL_BENCH_HEAP_FILE: heapFile },
  });
  let heap: { liveMb: number; rssMb: number };
  try {
    const r = await bigWorkflow(probed, sizes.nodes);
    if (r.status !== 'completed') throw new Error(`the ${sizes.nodes}-node workflow ended ${r.status}`);
    heap = JSON.parse(readFileSync(heapFile, 'utf8')) as { liveMb: number; rssMb: number };
  } finally {
    await probed.stop();
    rmSync(dirname(heapFile), { recursive: true, force: true });
  }
  // And one with the heap limit Node gives itself on a Flex Consumption instance of 2,048 MB (a quarter of its memory),
  // instead of this machine's 24 GiB: the RSS an instance would see.
  const sized = await startJobsApp({ name: 'bench_workflow_2g', env: { LONGHAUL_LOG_LEVEL: 'error', NODE_OPTIONS: '--max-old-space-size=512' } });
  let instance: { seconds: number; rssMb: number };
  try {
    const r = await bigWorkflow(sized, sizes.nodes);
    if (r.status !== 'completed') throw new Error(`the ${sizes.nodes}-node workflow ended ${r.status} with a 512 MB heap limit`);
    instance = r;
  } finally {
    await sized.stop();
  }
  const label = `${sizes.nodes.toLocaleString('en-US')}-node workflow, offline model`;
  figures.push({ name: `${label}: submit → completed`, value: median(wall), unit: 's', runs: wall });
  figures.push({ name: `${label}: host peak RSS`, value: median(rss), unit: 'MB', runs: rss });
  figures.push({ name: `${label}: host peak RSS with the heap limit of a 2,048 MB instance (--max-old-space-size=512, one run)`, value: instance.rssMb, unit: 'MB', runs: [instance.rssMb] });
  figures.push({ name: `${label}: submit → completed with that limit (same run)`, value: instance.seconds, unit: 's', runs: [instance.seconds] });
  figures.push({ name: `${label}: host peak live heap, full GC every 2 s (one run)`, value: heap.liveMb, unit: 'MB', runs: [heap.liveMb] });
  figures.push({ name: `${label}: host peak RSS with that GC (same run)`, value: heap.rssMb, unit: 'MB', runs: [heap.rssMb] });
  figures.push({ name: `${label}: largest history of any instance`, value: median(history), unit: 'events', runs: history });
  return figures;
}

/** rag_ingestion of a long transcript with the offline model: embedding requests, wall time, the host's peak RSS. */
export async function benchRag(segments: number): Promise<Figure[]> {
  const app = await startJobsApp({ name: 'bench_rag', env: { LONGHAUL_LOG_LEVEL: 'error' } });
  try {
    const user = await app.createUser(segments);
    const words = ['river', 'market', 'engine', 'garden', 'winter', 'copper', 'signal', 'harbor', 'violin', 'desert'];
    const input = {
      documentId: 'bench',
      segments: Array.from({ length: segments }, (_, i) => ({ seq: i, text: `We talked about the ${words[i % 10]} and the ${words[(i * 3) % 10]} for a while. Then segment ${i} moved on to other things, as talks do.`, startMs: i * 4000, endMs: i * 4000 + 3900 })),
    };
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'rag_ingestion', input });
    if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 600_000);
    if (job.status !== 'completed') throw new Error(`rag job ended ${String(job.status)}`);
    const { rows } = await app.pool.query<{ secs: number }>('select extract(epoch from finished_at - created_at)::float8 as secs from public.jobs where id = $1', [res.body.id]);
    const result = job.result as { chunks: number; embeddingRequests: number };
    const label = `rag_ingestion of ${segments.toLocaleString('en-US')} segments (${result.chunks.toLocaleString('en-US')} chunks), offline model`;
    return [
      { name: `${label}: embedding requests (the seed: one per 16 chunks = ${Math.ceil(result.chunks / 16)})`, value: result.embeddingRequests, unit: 'requests', runs: [result.embeddingRequests] },
      { name: `${label}: submit → completed`, value: rows[0]!.secs, unit: 's', runs: [rows[0]!.secs] },
      { name: `${label}: host peak RSS`, value: peakRssMb(app.host.child.pid!), unit: 'MB', runs: [peakRssMb(app.host.child.pid!)] },
    ];
  } finally {
    await app.stop();
  }
}
