/**
 * Scale in width (issue: benchmarks): 10,000 jobs submitted in 10 bursts of 1,000 direct INSERTs, as apps do with
 * supabase-js — time until all completed, throughput, the host's peak RSS, and that every job completed with exactly
 * one charge in the ledger and the user's balance fell by exactly the jobs' price.
 */
import { startJobsApp, type JobsApp, type TestUser } from '../test/support/jobsApp';
import { median, type Figure } from './localHost';
import { peakRssMb } from './jobs';
import { SUBMIT_BATCH, until } from './peers';

/**
 * Inserts workflow jobs as the user would through supabase-js (role `authenticated`, the user's claims, RLS on), one
 * multi-row statement per `SUBMIT_BATCH` inputs. Returns the new job ids.
 */
export async function insertJobs(app: JobsApp, user: TestUser, inputs: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < inputs.length; i += SUBMIT_BATCH) {
    const client = await app.pool.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: user.id, role: 'authenticated' })]);
      const { rows } = await client.query<{ id: string }>("insert into public.jobs (kind, input) select 'workflow', x from unnest($1::jsonb[]) as x returning id", [inputs.slice(i, i + SUBMIT_BATCH).map((x) => JSON.stringify(x))]);
      await client.query('commit');
      ids.push(...rows.map((r) => r.id));
    } catch (err) {
      await client.query('rollback');
      throw err;
    } finally {
      client.release();
    }
  }
  return ids;
}

/** Counts the given jobs that ended (completed, failed or cancelled). */
async function endedCount(app: JobsApp, ids: string[]): Promise<number> {
  const { rows } = await app.pool.query<{ n: number }>("select count(*)::int as n from public.jobs where id = any($1::uuid[]) and status in ('completed', 'failed', 'cancelled')", [ids]);
  return rows[0]!.n;
}

/** Counts the given jobs that reached `completed` (failed ones throw: a benchmark of failures measures nothing). */
export async function completedCount(app: JobsApp, ids: string[]): Promise<number> {
  const { rows } = await app.pool.query<{ completed: number; failed: number }>(
    "select count(*) filter (where status = 'completed')::int as completed, count(*) filter (where status in ('failed', 'cancelled'))::int as failed from public.jobs where id = any($1::uuid[])",
    [ids],
  );
  if (rows[0]!.failed > 0) throw new Error(`${rows[0]!.failed} benchmark jobs failed`);
  return rows[0]!.completed;
}

export interface BurstSizes {
  bursts: number;
  perBurst: number;
}

interface BurstRun {
  seconds: number;
  rssMb: number;
  completed: number;
  ledgersCorrect: number;
  balanceCorrect: boolean;
  /** Jobs the webhook marked `queued`; the rest were started by the sweeper's redelivery before their webhook was handled (lost, or handled more than 20 s late). */
  webhookArrived: number;
  /** First insert → first job completed (work proceeds breadth-first under a burst). */
  firstCompletionSeconds: number;
}

async function burstOnce(sizes: BurstSizes): Promise<BurstRun> {
  const total = sizes.bursts * sizes.perBurst;
  // The sweeper at its production settings (the test harness sets 600 s so it cannot race the path under test): under
  // a burst the local webhook bridge, fire-and-forget like pg_net, loses deliveries, and redelivery is part of the path.
  const app = await startJobsApp({ name: 'bench_burst', env: { LONGHAUL_LOG_LEVEL: 'error', SWEEPER_REDELIVER_AFTER_SECONDS: '20', SWEEPER_STUCK_AFTER_SECONDS: '120' } });
  try {
    const spare = 500;
    const user = await app.createUser(total + spare);
    // One llm node (1 credit, offline model) per job, so every job has a ledger to check.
    const job = (b: number, i: number) => ({ nodes: [{ id: 'a', type: 'llm', prompt: `burst ${b} job ${i}: say something` }] });
    const started = performance.now();
    const ids: string[] = [];
    for (let b = 0; b < sizes.bursts; b++) {
      // Bursts start a second apart whether or not the previous ones finished.
      const at = started + b * 1000;
      if (performance.now() < at) await new Promise((r) => setTimeout(r, at - performance.now()));
      ids.push(...(await insertJobs(app, user, Array.from({ length: sizes.perBurst }, (_, i) => job(b, i)))));
    }
    // Progress every 30 s, so a run cut short still says how far it got.
    let last = performance.now();
    await until(
      async () => {
        const done = await endedCount(app, ids);
        if (performance.now() - last > 30_000) {
          last = performance.now();
          console.log(`  ${((last - started) / 1000).toFixed(0)} s: ${done} of ${total} ended, host peak RSS ${peakRssMb(app.host.child.pid!).toFixed(0)} MB`);
        }
        return done === total;
      },
      3_600_000,
      `${total} burst jobs to end`,
    );
    const seconds = (performance.now() - started) / 1000;
    const ledgers = await app.pool.query<{ n: number }>(
      `select count(*)::int as n from public.jobs j where j.id = any($1::uuid[]) and j.status = 'completed'
         and (select array_agg(l.entry || ':' || l.attempt || ':' || l.amount order by l.id) from public.credit_ledger l where l.job_id = j.id) = array['charge:1:-1']`,
      [ids],
    );
    const balance = await app.pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [user.id]);
    const failed = await app.pool.query<{ n: number; error: string | null }>(
      "select count(*) over ()::int as n, error::text as error from public.jobs where id = any($1::uuid[]) and status <> 'completed' limit 1",
      [ids],
    );
    if (failed.rows[0]) console.log(`  ${failed.rows[0].n} jobs did not complete, e.g. ${failed.rows[0].error}`);
    const completed = total - (failed.rows[0]?.n ?? 0);
    const arrived = await app.pool.query<{ n: number }>(
      "select count(distinct job_id)::int as n from public.job_events where job_id = any($1::uuid[]) and to_status = 'queued' and actor = 'system:jobsWebhook'",
      [ids],
    );
    const first = await app.pool.query<{ secs: number }>(
      'select extract(epoch from min(finished_at) - min(created_at))::float8 as secs from public.jobs where id = any($1::uuid[])',
      [ids],
    );
    return {
      webhookArrived: arrived.rows[0]!.n,
      firstCompletionSeconds: first.rows[0]!.secs,
      seconds,
      rssMb: peakRssMb(app.host.child.pid!),
      completed,
      ledgersCorrect: ledgers.rows[0]!.n,
      // A job that failed before any unit ran is refunded in full.
      balanceCorrect: Number(balance.rows[0]?.balance) === spare + total - completed,
    };
  } finally {
    await app.stop();
  }
}

export async function benchBurst(repeats: number, sizes: BurstSizes = { bursts: 10, perBurst: 1000 }): Promise<Figure[]> {
  const runs: BurstRun[] = [];
  // A fresh host per run: its peak RSS is this run's.
  for (let i = 0; i < repeats; i++) runs.push(await burstOnce(sizes));
  const total = sizes.bursts * sizes.perBurst;
  const label = `${total.toLocaleString('en-US')} jobs in ${sizes.bursts} bursts of ${sizes.perBurst.toLocaleString('en-US')} INSERTs a second apart`;
  // A run where jobs failed or a ledger is wrong is reported, not hidden: the figures below say how many.
  for (const r of runs) if (r.completed !== total || r.ledgersCorrect !== total || !r.balanceCorrect) console.log(`  burst run incomplete: ${JSON.stringify(r)}`);
  const secs = runs.map((r) => r.seconds);
  const rate = runs.map((r) => total / r.seconds);
  const rss = runs.map((r) => r.rssMb);
  return [
    { name: `${label}: first insert → all ended`, value: median(secs), unit: 's', runs: secs },
    { name: `${label}: throughput`, value: median(rate), unit: 'jobs/s', runs: rate },
    { name: `${label}: first insert → first job completed`, value: median(runs.map((r) => r.firstCompletionSeconds)), unit: 's', runs: runs.map((r) => r.firstCompletionSeconds) },
    { name: `${label}: host peak RSS`, value: median(rss), unit: 'MB', runs: rss },
    { name: `${label}: jobs marked queued by their webhook (the rest were started first by the sweeper's redelivery)`, value: median(runs.map((r) => r.webhookArrived)), unit: `of ${total.toLocaleString('en-US')}`, runs: runs.map((r) => r.webhookArrived) },
    { name: `${label}: jobs completed`, value: median(runs.map((r) => r.completed)), unit: `of ${total.toLocaleString('en-US')}`, runs: runs.map((r) => r.completed) },
    { name: `${label}: completed with a ledger of exactly one 1-credit charge`, value: median(runs.map((r) => r.ledgersCorrect)), unit: `of ${total.toLocaleString('en-US')}`, runs: runs.map((r) => r.ledgersCorrect) },
    { name: `${label}: user's balance down by exactly the completed jobs' price (1 = yes)`, value: median(runs.map((r) => (r.balanceCorrect ? 1 : 0))), unit: '', runs: runs.map((r) => (r.balanceCorrect ? 1 : 0)) },
  ];
}
