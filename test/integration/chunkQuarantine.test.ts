/**
 * A chunk that crashes its host is quarantined after CHUNK_MAX_CRASHES runs that never finished: its job fails and is
 * refunded instead of taking the host down again at every restart. Proved twice: against the database alone (the
 * chunk left `running` by runs that never returned), and on the real local host killed with SIGKILL mid-chunk.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AiServices } from '../../shared/ai/types';
import { createEngineActivities } from '../../shared/engine/activities';
import { CHUNK_MAX_CRASHES } from '../../shared/orchestration/retry';
import { eventually } from '../support/hostProcess';
import { startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

const TEXT_ONLY = { nodes: [{ id: 'a', type: 'text', text: 'hello' }, { id: 'b', type: 'llm', prompt: 'say {{a}}', inputs: ['a'] }] };

describe('chunk quarantine, activities against the database', () => {
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    // No webhook bridge: the jobs inserted here are driven by the test's own activity calls, not by the host.
    app = await startJobsApp({ name: 'chunk_quarantine_fast', bridge: false });
    user = await app.createUser(100);
  });
  after(async () => {
    await app?.stop();
  });

  const engine = () =>
    createEngineActivities({
      db: app.pool,
      // No model is ever called: a quarantined chunk does not run.
      ai: () => ({}) as AiServices,
      limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 3 },
      chunkTimeBudgetMs: 1000,
      workerConcurrency: 1,
    });
  const chunkRef = (jobId: string, attempt = 1) => ({ jobId, attempt, stage: 0, stageName: 'nodes', index: 0, maxAttempts: 3 });

  async function startedJob(): Promise<string> {
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [JSON.stringify(TEXT_ONLY), user.id]);
    const id = rows[0]!.id;
    assert.equal((await engine().startJob({ jobId: id, attempt: 1 })).run, true);
    return id;
  }

  /** A run that claimed the chunk and never came back (its host died): the claim is all it did. */
  async function crashedRun(jobId: string, attempt = 1): Promise<void> {
    await app.pool.query('select * from longhaul.claim_chunk($1, $2, 0, 0)', [jobId, attempt]);
  }

  it(`a chunk left running by ${CHUNK_MAX_CRASHES} runs is failed for good, and its job fails with a refund`, async () => {
    const id = await startedJob();
    for (let run = 0; run < CHUNK_MAX_CRASHES; run++) await crashedRun(id);
    const result = await engine().runChunk(chunkRef(id));
    assert.equal(result.status, 'failed', 'the chunk is not run again');
    assert.equal(result.error?.code, 'chunk_quarantined');
    assert.match(result.error?.message ?? '', new RegExp(`crashed its host ${CHUNK_MAX_CRASHES} times and was quarantined`));
    const chunk = (await app.pool.query('select status, crashes, error from longhaul.job_chunks where job_id = $1', [id])).rows[0];
    assert.equal(chunk.status, 'failed');
    assert.equal(chunk.crashes, CHUNK_MAX_CRASHES);
    assert.equal((await engine().finishJob({ jobId: id, attempt: 1, outcome: 'failed', error: result.error })).status, 'failed');
    assert.deepEqual(await app.ledger(id), ['charge:1:-1', 'refund:1:1']);
  });

  it('fewer crashed runs than the limit: the chunk runs again (and a finished run is not a crash)', async () => {
    const id = await startedJob();
    for (let run = 0; run < CHUNK_MAX_CRASHES - 1; run++) await crashedRun(id);
    // A run that fails transiently hands the chunk back: the next claim does not count it as a crash.
    const ai = { text: { generate: () => Promise.reject(new Error('connection reset')) } } as unknown as AiServices;
    const flaky = createEngineActivities({ db: app.pool, ai: () => ai, aiCache: 'off', limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 3 }, chunkTimeBudgetMs: 1000, workerConcurrency: 1 });
    await assert.rejects(flaky.runChunk(chunkRef(id)), /connection reset/);
    const chunk = (await app.pool.query('select status, crashes from longhaul.job_chunks where job_id = $1', [id])).rows[0];
    assert.deepEqual(chunk, { status: 'pending', crashes: CHUNK_MAX_CRASHES - 1 });
    await assert.rejects(flaky.runChunk(chunkRef(id)), /connection reset/, 'still run, not quarantined');
  });

  it('crashes count only in a row without progress: work done between two crashes starts the count again', async () => {
    const id = await startedJob();
    // Each crash is followed by progress of the job (as when a host is killed from outside while work goes on).
    const progress = () => app.pool.query('update longhaul.job_runs set items_done = items_done + 1 where job_id = $1', [id]);
    await crashedRun(id);
    for (let run = 0; run < CHUNK_MAX_CRASHES + 2; run++) {
      await progress();
      await crashedRun(id);
    }
    assert.equal((await app.pool.query('select crashes from longhaul.job_chunks where job_id = $1', [id])).rows[0].crashes, 1, 'each crash after progress is the first of a new series');
    // Then the same point again and again with nothing done in between: a crash loop, quarantined.
    for (let run = 2; run < CHUNK_MAX_CRASHES; run++) await crashedRun(id);
    assert.equal((await app.pool.query('select crashes from longhaul.job_chunks where job_id = $1', [id])).rows[0].crashes, CHUNK_MAX_CRASHES - 1);
    const result = await engine().runChunk(chunkRef(id));
    assert.equal(result.error?.code, 'chunk_quarantined');
  });

  it('crashes count per job attempt: a stale attempt claims nothing and a retried job starts from zero', async () => {
    const id = await startedJob();
    for (let run = 0; run < CHUNK_MAX_CRASHES; run++) await crashedRun(id);
    await crashedRun(id, 2);
    assert.equal((await app.pool.query('select crashes from longhaul.job_chunks where job_id = $1', [id])).rows[0].crashes, CHUNK_MAX_CRASHES - 1, 'attempt 2 is not running: nothing claimed');
    const failed = await engine().runChunk(chunkRef(id));
    await engine().finishJob({ jobId: id, attempt: 1, outcome: 'failed', error: failed.error });
    await app.pool.query("select longhaul.retry_job($1, 'test')", [id]);
    assert.equal((await engine().startJob({ jobId: id, attempt: 2 })).run, true);
    await crashedRun(id, 2);
    assert.equal((await app.pool.query('select crashes from longhaul.job_chunks where job_id = $1', [id])).rows[0].crashes, 0, 'a fresh count for attempt 2');
  });
});

describe('chunk quarantine on the local host killed mid-chunk', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  const MAX_CRASHES = 3;
  let user: TestUser;
  before(async () => {
    fake = await startOpenAiFake();
    // JOB_CHUNK_MAX_CRASHES below its default: the setting reaches the engine, and the test needs fewer restarts.
    app = await startJobsApp({ name: 'chunk_quarantine_kill', env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', JOB_CHUNK_MAX_CRASHES: String(MAX_CRASHES) } });
    user = await app.createUser(100);
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it(`a job whose chunk is killed with its host every time ends failed and refunded after ${MAX_CRASHES} restarts`, async () => {
    // The call answers only long after the kill: the host is always mid-chunk when it is killed.
    fake.rules.push({ match: /^HANG/, delayMs: 15_000 });
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'hang', type: 'llm', prompt: 'HANG forever' }] } });
    assert.equal(res.status, 202);
    for (let kill = 1; kill <= MAX_CRASHES; kill++) {
      await eventually(async () => (fake.calls(/^HANG/) >= kill ? true : undefined), 90_000, `run ${kill} of the chunk reached the provider`);
      await app.restartHost(true);
    }
    const job = await app.waitForStatus(res.body.id, ['failed', 'completed'], 90_000);
    assert.equal(job.status, 'failed');
    assert.equal((job.error as { code?: string }).code, 'chunk_quarantined');
    assert.match(String((job.error as { message?: string }).message), new RegExp(`crashed its host ${MAX_CRASHES} times`));
    assert.equal(fake.calls(/^HANG/), MAX_CRASHES, 'not run again once quarantined');
    assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-1', 'refund:1:1']);
  });
});
