/**
 * The peers longhaul is compared with, run in the benchmark process on the same embedded Postgres cluster, each in a
 * database of its own (graphile-worker and pg-boss install their own schemas): no-op job throughput through
 * graphile-worker and pg-boss, and the pickup latency of a polling worker written like the seeds' (every 5 s,
 * `select … for update skip locked`, then mark running). Peer libraries are dev dependencies: only bench/ imports them.
 */
import { randomBytes } from 'node:crypto';
import { makeWorkerUtils, run, Logger } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { Client, Pool } from 'pg';

/** The same task granularity on both peers: concurrency like longhaul's chunks in flight (JOB_CHUNK_CONCURRENCY). */
export const PEER_CONCURRENCY = 16;
// Jobs are submitted in batches of this size (one statement each), as an app inserting an array does.
export const SUBMIT_BATCH = 1000;
const quiet = new Logger(() => () => undefined);

export async function createDatabase(adminUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Polls `done()` every 10 ms until it is true; fails after `timeoutMs`. */
export async function until(done: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A peer ready to take `n` no-op jobs: `submitAndDrain` returns the seconds from the first insert to the last completion. */
export interface Peer {
  name: string;
  submitAndDrain(n: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * graphile-worker 0.17 with its defaults (LISTEN/NOTIFY on insert, 2 s poll as a fallback) and 16 concurrent jobs.
 * Completed jobs are deleted, so "all done" is an empty jobs table.
 */
export async function startGraphileWorker(databaseUrl: string): Promise<Peer> {
  const runner = await run({
    connectionString: databaseUrl,
    concurrency: PEER_CONCURRENCY,
    maxPoolSize: PEER_CONCURRENCY + 2,
    noHandleSignals: true,
    logger: quiet,
    taskList: { noop: async () => undefined },
  });
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: quiet });
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  return {
    name: `graphile-worker (concurrency ${PEER_CONCURRENCY})`,
    async submitAndDrain(n) {
      const started = performance.now();
      for (const batch of chunks(Array.from({ length: n }, (_, i) => ({ identifier: 'noop', payload: { i } })), SUBMIT_BATCH)) await utils.addJobs(batch);
      await until(async () => (await sql.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs')).rows[0]!.n === 0, 600_000, 'graphile-worker to drain');
      return (performance.now() - started) / 1000;
    },
    async stop() {
      await sql.end();
      await utils.release();
      await runner.stop();
    },
  };
}

/**
 * pg-boss 10. Its workers fetch `batchSize` jobs, run the handler, then wait out the polling interval (minimum
 * 0.5 s) unless notified by the same instance — so throughput is set by batch size × workers / interval. Configured for
 * throughput: 4 workers of 100 jobs each at the minimum interval (one job at a time at the default 2 s would do 0.5/s).
 */
export async function startPgBoss(databaseUrl: string): Promise<Peer> {
  const boss = new PgBoss({ connectionString: databaseUrl, max: PEER_CONCURRENCY + 2, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('noop');
  for (let i = 0; i < 4; i++) await boss.work('noop', { batchSize: 100, pollingIntervalSeconds: 0.5 }, async () => undefined);
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  return {
    name: 'pg-boss (4 workers × batch 100, 0.5 s interval)',
    async submitAndDrain(n) {
      const before = (await sql.query<{ n: number }>("select count(*)::int as n from pgboss.job where name = 'noop' and state = 'completed'")).rows[0]!.n;
      const started = performance.now();
      for (const batch of chunks(Array.from({ length: n }, (_, i) => ({ name: 'noop', data: { i } })), SUBMIT_BATCH)) await boss.insert(batch);
      await until(async () => (await sql.query<{ n: number }>("select count(*)::int as n from pgboss.job where name = 'noop' and state = 'completed'")).rows[0]!.n >= before + n, 600_000, 'pg-boss to drain');
      return (performance.now() - started) / 1000;
    },
    async stop() {
      await sql.end();
      await boss.stop({ graceful: false, wait: true });
    },
  };
}

/**
 * A polling worker like the seeds': every 5 s it claims pending jobs with `for update skip locked` and marks them
 * running. (The seed claims one per poll; this one claims up to 10, so a job never waits behind another — kinder to
 * the poller.) Jobs are inserted one at a time at random gaps; latency = started_at − created_at, both taken by
 * Postgres (`clock_timestamp()`).
 */
export async function pollingPickup(databaseUrl: string, samples: number, meanGapMs: number): Promise<number[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  await pool.query(`create schema if not exists bench_poll;
    create table if not exists bench_poll.jobs (id bigserial primary key, status text not null default 'pending',
      created_at timestamptz not null default clock_timestamp(), started_at timestamptz)`);
  let polling = true;
  let wake: () => void = () => undefined;
  const worker = (async () => {
    while (polling) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const { rows } = await client.query<{ id: string }>("select id from bench_poll.jobs where status = 'pending' order by created_at limit 10 for update skip locked");
        if (rows.length) await client.query("update bench_poll.jobs set status = 'running', started_at = clock_timestamp() where id = any($1)", [rows.map((r) => r.id)]);
        await client.query('commit');
      } finally {
        client.release();
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 5000);
      });
    }
  })();
  const ids: string[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      await new Promise((r) => setTimeout(r, Math.random() * 2 * meanGapMs));
      ids.push((await pool.query<{ id: string }>('insert into bench_poll.jobs default values returning id')).rows[0]!.id);
    }
    await until(async () => (await pool.query<{ n: number }>("select count(*)::int as n from bench_poll.jobs where id = any($1) and status = 'running'", [ids])).rows[0]!.n === ids.length, 30_000, 'the polling worker');
    const { rows } = await pool.query<{ ms: number }>('select extract(epoch from started_at - created_at)::float8 * 1000 as ms from bench_poll.jobs where id = any($1)', [ids]);
    return rows.map((r) => r.ms);
  } finally {
    polling = false;
    wake();
    await worker;
    await pool.end();
  }
}
