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
}

async function burstOnce(sizes: BurstSizes): Promise<BurstRun> {
  const total = sizes.bursts * sizes.perBurst;
  const app = await startJobsApp({ name: 'bench_burst', env: { LONGHAUL_LOG_LEVEL: 'error' } });
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
        const done = await completedCount(app, ids);
        if (performance.now() - last > 30_000) {
          last = performance.now();
          console.log(`  ${((last - started) / 1000).toFixed(0)} s: ${done} of ${total} completed, host peak RSS ${peakRssMb(app.host.child.pid!).toFixed(0)} MB`);
        }
        return done === total;
      },
      3_600_000,
      `${total} burst jobs to complete`,
    );
    const seconds = (performance.now() - started) / 1000;
    const ledgers = await app.pool.query<{ n: number }>(
      `select count(*)::int as n from public.jobs j where j.id = any($1::uuid[]) and j.status = 'completed'
         and (select array_agg(l.entry || ':' || l.attempt || ':' || l.amount order by l.id) from public.credit_ledger l where l.job_id = j.id) = array['charge:1:-1']`,
      [ids],
    );
    const balance = await app.pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [user.id]);
    return {
      seconds,
      rssMb: peakRssMb(app.host.child.pid!),
      completed: await completedCount(app, ids),
      ledgersCorrect: ledgers.rows[0]!.n,
      balanceCorrect: Number(balance.rows[0]?.balance) === spare,
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
  const bad = runs.filter((r) => r.completed !== total || r.ledgersCorrect !== total || !r.balanceCorrect);
  if (bad.length) throw new Error(`burst: ${JSON.stringify(bad)}`);
  const secs = runs.map((r) => r.seconds);
  const rate = runs.map((r) => total / r.seconds);
  const rss = runs.map((r) => r.rssMb);
  return [
    { name: `${label}: first insert → all completed`, value: median(secs), unit: 's', runs: secs },
    { name: `${label}: throughput`, value: median(rate), unit: 'jobs/s', runs: rate },
    { name: `${label}: host peak RSS`, value: median(rss), unit: 'MB', runs: rss },
    { name: `${label}: completed with ledger exactly [charge 1] and the balance down by exactly ${total.toLocaleString('en-US')}`, value: median(runs.map((r) => r.ledgersCorrect)), unit: `of ${total.toLocaleString('en-US')}`, runs: runs.map((r) => r.ledgersCorrect) },
  ];
}
