/**
 * Chaos (slow, `npm run test:chaos`): kill -9 of the host at 20 random points across a mixed workload of every kind
 * that runs on the provider wire fakes, with a restart after each. Every job completes, every chunk's work is counted
 * once, and no charge or refund is applied twice. The kill points and the workload come from a logged seed
 * (CHAOS_SEED replays them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAiFake, type AiFake } from '../support/aiFake';
import { assertLedgerConsistent, CHAOS_KINDS, chaosBreak, chaosInput, chaosSeed, prng, submit, waitAllFinished, type ChaosKind, type Submitted } from '../support/chaos';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

// CHAOS_KILLS: fewer kills for a quick look (e.g. while breaking a protection on purpose); CI uses 20.
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const SIZES: Record<ChaosKind, [number, number]> = { workflow: [20, 80], rag_ingestion: [40, 160], image_generation: [2, 6], brief_pipeline: [0, 3] };

describe('chaos: kill -9 of the host at random points', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    // Every answer takes a little while, so a kill lands while chunks are in flight.
    fake.delayMs = 25;
    app = await startJobsApp({
      name: 'chaos_kill',
      env: {
        AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '4', IMAGE_CONTAINER: 'chaos-images',
        // Recovery from a crash relies on the sweeper: a killed host's queue messages stay invisible for 10 minutes (as
        // on Azure), and its deliveries are re-enqueued after SWEEPER_REDELIVER_AFTER_SECONDS (20 s in production).
        SWEEPER_REDELIVER_AFTER_SECONDS: '5',
        SWEEPER_STUCK_AFTER_SECONDS: '30',
      },
      afterMigrate: chaosBreak(),
    });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it(`${KILLS} kill -9s across workflow, rag_ingestion, image_generation and brief_pipeline jobs: every job completes, work and credits counted once`, async () => {
    const seed = chaosSeed('killStorm');
    const rng = prng(seed);
    const users: TestUser[] = [];
    for (let i = 0; i < 4; i++) users.push(await app.createUser(100_000));
    const jobs: Submitted[] = [];
    const submitSome = async (n: number, round: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const kind = rng.pick(CHAOS_KINDS);
        const [lo, hi] = SIZES[kind];
        jobs.push(await submit(app, rng.pick(users), kind, chaosInput(kind, `k${seed}r${round}j${i}`, rng.int(lo, hi))));
      }
    };
    const started = Date.now();
    await submitSome(8, 0);
    const killedAt: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const wait = rng.int(150, 2000);
      await new Promise((r) => setTimeout(r, wait));
      killedAt.push(wait);
      await app.restartHost(true);
      // Keep work flowing into the next kill window.
      await submitSome(rng.int(0, 2), k);
    }
    console.log(`[chaos] killStorm: ${KILLS} kills after ${killedAt.join(', ')} ms; ${jobs.length} jobs (${CHAOS_KINDS.map((k) => `${k} ${jobs.filter((j) => j.kind === k).length}`).join(', ')})`);
    const counts = await waitAllFinished(app.pool, jobs.map((j) => j.id), 240_000);
    console.log(`[chaos] killStorm: finished in ${Date.now() - started} ms: ${JSON.stringify(counts)}; ${fake.requests.length} provider requests`);
    assert.deepEqual(counts, { completed: jobs.length }, 'every job completes');
    await assertLedgerConsistent(app.pool, jobs.map((j) => j.id));
    const starts = await app.pool.query<{ n: number }>("select count(*)::int as n from public.job_events where job_id = any($1::uuid[]) and to_status = 'running'", [jobs.map((j) => j.id)]);
    assert.equal(starts.rows[0]?.n, jobs.length, 'each job started once');
  });
});
