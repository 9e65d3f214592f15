/**
 * Chaos (slow, `npm run test:chaos`): kill -9 of the host at 20 points across a mixed workload of every kind that
 * runs on the provider wire fakes, with a restart after each. Every job completes, every chunk's work is counted
 * once, and no charge or refund is applied twice. The workload and the random kill points come from a logged seed
 * (CHAOS_SEED replays them).
 *
 * Every other kill is aimed rather than random: it waits until a workflow chunk is in the middle of its work (running,
 * some of its nodes stored, not all) and kills then. Such a chunk is run again by the next host, and only the
 * protections against counting work twice (the activity's return for a done chunk, the workflow's skip of done nodes,
 * complete_items/complete_chunk counting a row once) keep its done nodes from being counted again. After each kill,
 * with no host running, the test counts the chunks the kill interrupted midway, and requires at least a few.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAiFake, type AiFake } from '../support/aiFake';
import {
  assertLedgerConsistent,
  CHAOS_KINDS,
  chaosBreak,
  chaosInput,
  chaosSeed,
  dbNow,
  partlyDoneChunks,
  prng,
  submit,
  waitAllFinished,
  type ChaosKind,
  type PartlyDoneChunk,
  type Submitted,
} from '../support/chaos';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

// CHAOS_KILLS: fewer kills for a quick look (e.g. while breaking a protection on purpose); CI uses 20.
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
// Every AIMED_EVERY-th kill waits for a partly done workflow chunk; the others come after a random wait.
const AIMED_EVERY = 2;
const AIMED = Math.floor(KILLS / AIMED_EVERY);
// How many kills must land inside a partly done chunk (aimed ones almost always do; random ones sometimes).
const MIN_MIDCHUNK_KILLS = Math.min(5, AIMED);
// Workflow: llm nodes per job, each followed by TEXT_PER_LLM text nodes, so a chunk (40 llm nodes) stores its nodes
// in ~5 batches of 50; each workflow model call takes LLM_NODE_DELAY_MS, so with 4 calls at once a chunk runs ~1.5 s.
const TEXT_PER_LLM = 5;
const LLM_NODE_DELAY_MS = 150;
const SIZES: Record<ChaosKind, [number, number]> = { workflow: [20, 60], rag_ingestion: [40, 160], image_generation: [2, 6], brief_pipeline: [0, 3] };
// An aimed kill waits at most this long for a chunk to be partly done, then kills anyway (and does not count).
const AIM_TIMEOUT_MS = 15_000;
const AIM_ADD_AFTER_MS = 3_000;

describe('chaos: kill -9 of the host at random points', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    // Every answer takes a little while, so a kill lands while chunks are in flight.
    fake.delayMs = 25;
    // Workflow model calls are slower, so a workflow chunk spends ~1.5 s between its first and its last stored node.
    fake.rules.push({ match: / node \d+: say something/, delayMs: LLM_NODE_DELAY_MS });
    app = await startJobsApp({
      name: 'chaos_kill',
      env: {
        AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '4', IMAGE_CONTAINER: 'chaos-images',
        // Recovery from a crash relies on the sweeper: a killed host's queue messages stay invisible for 10 minutes (as
        // on Azure), and its deliveries are re-enqueued after SWEEPER_REDELIVER_AFTER_SECONDS (20 s in production).
        SWEEPER_REDELIVER_AFTER_SECONDS: '5',
        SWEEPER_STUCK_AFTER_SECONDS: '30',
        // Twenty kills in 45 s from outside, most before a restarted host has stored anything: to the quarantine that
        // looks like a chunk crashing its host again and again (test/integration/chunkQuarantine.test.ts proves it).
        // This suite proves that work survives kills, so the limit is out of its reach.
        JOB_CHUNK_MAX_CRASHES: '1000',
      },
      afterMigrate: chaosBreak(),
    });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it(`${KILLS} kill -9s (${AIMED} of them inside a partly done workflow chunk) across workflow, rag_ingestion, image_generation and brief_pipeline jobs: every job completes, work and credits counted once`, async () => {
    const seed = chaosSeed('killStorm');
    const rng = prng(seed);
    const users: TestUser[] = [];
    for (let i = 0; i < 4; i++) users.push(await app.createUser(100_000));
    const jobs: Submitted[] = [];
    const ids = (): string[] => jobs.map((j) => j.id);
    const submitOne = async (kind: ChaosKind, tag: string): Promise<void> => {
      const [lo, hi] = SIZES[kind];
      jobs.push(await submit(app, rng.pick(users), kind, chaosInput(kind, tag, rng.int(lo, hi), { textPerLlm: TEXT_PER_LLM })));
    };
    const submitSome = async (n: number, round: number): Promise<void> => {
      for (let i = 0; i < n; i++) await submitOne(rng.pick(CHAOS_KINDS), `k${seed}r${round}j${i}`);
    };
    const openWorkflows = async (): Promise<number> =>
      (await app.pool.query<{ n: number }>("select count(*)::int as n from public.jobs where id = any($1::uuid[]) and kind = 'workflow' and status in ('pending', 'queued', 'running')", [ids()])).rows[0]!.n;

    const started = Date.now();
    // Chunks claimed by the current host are those updated since it started.
    let hostSince = await dbNow(app.pool);
    await submitSome(8, 0);
    const kills: string[] = [];
    const midChunk: PartlyDoneChunk[][] = [];
    let aimedLanded = 0;
    for (let k = 1; k <= KILLS; k++) {
      const aimed = k % AIMED_EVERY === 0;
      if (aimed) {
        // Something to aim at: a workflow still open, else one more (also when the open ones have too few nodes left
        // to store a batch before they end).
        let added = (await openWorkflows()) === 0;
        if (added) await submitOne('workflow', `k${seed}r${k}aim`);
        const aimStart = Date.now();
        // Aim at a chunk that has stored nodes in this host's run (not one just claimed again after the last kill).
        while (Date.now() - aimStart < AIM_TIMEOUT_MS && !(await partlyDoneChunks(app.pool, ids(), hostSince)).some((c) => c.doneSince > 0)) {
          if (!added && Date.now() - aimStart > AIM_ADD_AFTER_MS) {
            added = true;
            await submitOne('workflow', `k${seed}r${k}aim`);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        kills.push(`aimed@${Date.now() - aimStart}`);
      } else {
        const wait = rng.int(150, 2000);
        await new Promise((r) => setTimeout(r, wait));
        kills.push(String(wait));
      }
      await app.restartHost(true, async () => {
        // No host runs now: a running chunk with some nodes done is one this kill interrupted midway.
        const cut = await partlyDoneChunks(app.pool, ids(), hostSince);
        midChunk.push(cut);
        if (aimed && cut.length > 0) aimedLanded++;
        hostSince = await dbNow(app.pool);
      });
      // Keep work flowing into the next kill window.
      await submitSome(rng.int(0, 2), k);
    }
    const landed = midChunk.filter((c) => c.length > 0).length;
    console.log(`[chaos] killStorm: ${KILLS} kills after ${kills.join(', ')} ms; ${jobs.length} jobs (${CHAOS_KINDS.map((k) => `${k} ${jobs.filter((j) => j.kind === k).length}`).join(', ')}); storm took ${Date.now() - started} ms`);
    console.log(
      `[chaos] killStorm: ${landed} of ${KILLS} kills landed inside a partly done workflow chunk (${aimedLanded} of ${AIMED} aimed, ${landed - aimedLanded} random): ` +
        midChunk.map((cut, i) => `#${i + 1} ${cut.length ? cut.map((c) => `${c.done}/${c.total}`).join('+') : '-'}`).join(' ') +
        ' (nodes done/in chunk, per interrupted chunk)',
    );
    const counts = await waitAllFinished(app.pool, ids(), 240_000);
    console.log(`[chaos] killStorm: finished in ${Date.now() - started} ms: ${JSON.stringify(counts)}; ${fake.requests.length} provider requests`);
    const failures = await app.pool.query<{ kind: string; error: unknown }>("select kind, error from public.jobs where id = any($1::uuid[]) and status <> 'completed'", [ids()]);
    assert.deepEqual(counts, { completed: jobs.length }, `every job completes; not completed: ${JSON.stringify(failures.rows)}`);
    await assertLedgerConsistent(app.pool, ids());
    const starts = await app.pool.query<{ n: number }>("select count(*)::int as n from public.job_events where job_id = any($1::uuid[]) and to_status = 'running'", [ids()]);
    assert.equal(starts.rows[0]?.n, jobs.length, 'each job started once');
    assert.ok(landed >= MIN_MIDCHUNK_KILLS, `only ${landed} kills landed inside a partly done workflow chunk (need ${MIN_MIDCHUNK_KILLS}): the storm did not test counting a chunk's work once`);
  });
});
