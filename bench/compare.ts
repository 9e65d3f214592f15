/**
 * longhaul beside its peers, in the same run on the same Postgres cluster (issue: benchmarks). The machine is shared
 * and noisy, so each repeat measures every system back to back and the ratio is taken per repeat.
 *   throughput: N no-op jobs through graphile-worker and pg-boss; N one-node workflow jobs through longhaul (per job);
 *               one workflow of N `text` nodes through longhaul (per unit).
 *   pickup:     insert → running for longhaul and for a polling worker written like the seeds'.
 */
import { startJobsApp } from '../test/support/jobsApp';
import { completedCount, insertJobs } from './burst';
import { percentile, pickupLatency } from './jobs';
import { median, type Figure } from './localHost';
import { createDatabase, pollingPickup, startGraphileWorker, startPgBoss, until, type Peer } from './peers';

async function peerRate(start: () => Promise<Peer>, n: number): Promise<{ name: string; rate: number }> {
  // Started per measurement, so an idle peer's polling never runs beside another system's measurement.
  const peer = await start();
  try {
    await peer.submitAndDrain(Math.min(100, n));
    return { name: peer.name, rate: n / (await peer.submitAndDrain(n)) };
  } finally {
    await peer.stop();
  }
}

export async function benchThroughput(adminUrl: string, repeats: number, n: number): Promise<Figure[]> {
  const gwUrl = await createDatabase(adminUrl, 'bench_graphile');
  const bossUrl = await createDatabase(adminUrl, 'bench_pgboss');
  const app = await startJobsApp({ name: 'bench_throughput', env: { LONGHAUL_LOG_LEVEL: 'error' } });
  const rates: Record<'gw' | 'boss' | 'jobs' | 'units', number[]> = { gw: [], boss: [], jobs: [], units: [] };
  const names = { gw: '', boss: '' };
  try {
    const user = await app.createUser(10);
    const oneNodeJob = { nodes: [{ id: 'a', type: 'text', text: 'no-op' }] };
    const nodes = (count: number) => ({ nodes: Array.from({ length: count }, (_, i) => ({ id: `n${i}`, type: 'text', text: 'no-op' })) });
    const runLonghaul = async (inputs: unknown[]): Promise<number> => {
      const started = performance.now();
      const ids = await insertJobs(app, user, inputs);
      await until(async () => (await completedCount(app, ids)) === ids.length, 1_800_000, 'longhaul jobs to complete');
      return (performance.now() - started) / 1000;
    };
    await runLonghaul(Array.from({ length: 20 }, () => oneNodeJob));
    for (let i = 0; i < repeats; i++) {
      const gw = await peerRate(() => startGraphileWorker(gwUrl), n);
      const boss = await peerRate(() => startPgBoss(bossUrl), n);
      names.gw = gw.name;
      names.boss = boss.name;
      rates.gw.push(gw.rate);
      rates.boss.push(boss.rate);
      rates.jobs.push(n / (await runLonghaul(Array.from({ length: n }, () => oneNodeJob))));
      rates.units.push(n / (await runLonghaul([nodes(n)])));
      console.log(`  run ${i + 1}: graphile-worker ${gw.rate.toFixed(0)}/s, pg-boss ${boss.rate.toFixed(0)}/s, longhaul ${rates.jobs.at(-1)!.toFixed(0)} jobs/s, ${rates.units.at(-1)!.toFixed(0)} units/s`);
    }
  } finally {
    await app.stop();
  }
  const count = n.toLocaleString('en-US');
  const ratio = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
  const fig = (name: string, runs: number[], unit: string): Figure => ({ name, value: median(runs), unit, runs });
  return [
    fig(`${names.gw}: ${count} no-op jobs, first insert → all done`, rates.gw, 'jobs/s'),
    fig(`${names.boss}: ${count} no-op jobs`, rates.boss, 'jobs/s'),
    fig(`longhaul, per job: ${count} workflow jobs of one \`text\` node (insert → webhook → queue → orchestration → completed)`, rates.jobs, 'jobs/s'),
    fig(`longhaul, per unit: one workflow of ${count} \`text\` nodes (insert → completed)`, rates.units, 'units/s'),
    fig('ratio longhaul per job / graphile-worker (per run)', ratio(rates.jobs, rates.gw), '×'),
    fig('ratio longhaul per unit / graphile-worker (per run)', ratio(rates.units, rates.gw), '×'),
    fig('ratio longhaul per job / pg-boss (per run)', ratio(rates.jobs, rates.boss), '×'),
    fig('ratio longhaul per unit / pg-boss (per run)', ratio(rates.units, rates.boss), '×'),
  ];
}

export interface PickupSizes {
  /** longhaul inserts per run, one at a time. */
  inserts: number;
  /** polling-worker inserts per run, at random gaps averaging `pollGapMs`. */
  pollSamples: number;
  pollGapMs: number;
}

export async function benchPickup(adminUrl: string, repeats: number, sizes: PickupSizes = { inserts: 100, pollSamples: 40, pollGapMs: 1000 }): Promise<Figure[]> {
  const pollUrl = await createDatabase(adminUrl, 'bench_poll');
  const app = await startJobsApp({ name: 'bench_pickup', env: { LONGHAUL_LOG_LEVEL: 'error' } });
  const lh = { p50: [] as number[], p99: [] as number[], busyP50: [] as number[] };
  const poll = { p50: [] as number[], p99: [] as number[] };
  try {
    const user = await app.createUser(10);
    await pickupLatency(app, user, 5);
    for (let i = 0; i < repeats; i++) {
      const ours = await pickupLatency(app, user, sizes.inserts);
      const busy = await pickupLatency(app, user, sizes.inserts, 'back-to-back');
      const theirs = await pollingPickup(pollUrl, sizes.pollSamples, sizes.pollGapMs);
      lh.p50.push(percentile(ours, 50));
      lh.p99.push(percentile(ours, 99));
      lh.busyP50.push(percentile(busy, 50));
      poll.p50.push(percentile(theirs, 50));
      poll.p99.push(percentile(theirs, 99));
      console.log(`  run ${i + 1}: longhaul p50 ${lh.p50.at(-1)!.toFixed(1)} ms (back to back ${lh.busyP50.at(-1)!.toFixed(1)} ms), polling worker p50 ${poll.p50.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await app.stop();
  }
  const fig = (name: string, runs: number[], unit: string): Figure => ({ name, value: median(runs), unit, runs });
  return [
    fig(`longhaul: insert → running, p50 over ${sizes.inserts} inserts, each into an idle system`, lh.p50, 'ms'),
    fig(`longhaul: insert → running, p99 over ${sizes.inserts} inserts, each into an idle system`, lh.p99, 'ms'),
    fig(`longhaul: insert → running, p50 over ${sizes.inserts} inserts back to back (the host still finishing the previous job)`, lh.busyP50, 'ms'),
    fig(`polling worker (5 s, skip locked): insert → running, p50 over ${sizes.pollSamples} inserts`, poll.p50, 'ms'),
    fig(`polling worker: insert → running, p99 over ${sizes.pollSamples} inserts`, poll.p99, 'ms'),
    fig('ratio polling worker p50 / longhaul p50, idle (per run; goal ≥ 50×)', poll.p50.map((x, i) => x / lh.p50[i]!), '×'),
    fig('ratio polling worker p50 / longhaul p50, back to back (per run)', poll.p50.map((x, i) => x / lh.busyP50[i]!), '×'),
    fig('ratio polling worker p99 / longhaul p99 (per run)', poll.p99.map((x, i) => x / lh.p99[i]!), '×'),
  ];
}
