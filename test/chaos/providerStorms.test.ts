/**
 * Chaos (fast, part of `npm test`): the AI provider in a storm of 429s and 500s, and down for good, on the wire fakes
 * with the official SDKs. While retries suffice no job fails and nothing is refunded; when the provider never comes back
 * every job fails and is refunded exactly once, even when its poison delivery fails it a second time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import { startAiFake, type AiFake } from '../support/aiFake';
import { assertLedgerConsistent, chaosBreak, chaosInput, submit, waitAllFinished, type Submitted } from '../support/chaos';
import { testStorageConnectionString } from '../support/database';
import { eventually } from '../support/hostProcess';
import { startJobsApp, type JobsApp } from '../support/jobsApp';

const providerEnv = (fake: AiFake): Record<string, string> => ({
  AI_PROVIDER: 'openai',
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: fake.openaiBaseUrl,
  OPENAI_RPM: '1000000',
  IMAGE_CONTAINER: 'chaos-storm-images',
});

describe('chaos: provider 429 and 500 storms', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    // Retries suffice by configuration: a chunk may fail 8 times (2 s, 4 s, 8 s … between tries) before the job fails.
    app = await startJobsApp({ name: 'chaos_storm', env: { ...providerEnv(fake), JOB_CHUNK_MAX_ATTEMPTS: '8' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('every request answered 429 or 500 for at least 4 s: all jobs of every kind complete, nothing refunded, charged once', async () => {
    const user = await app.createUser(10_000);
    // Every request during the storm fails: every other one matches the 429 rule, the rest fall through to the 500.
    let flip = false;
    const everyOther = Object.assign(/./, { test: (): boolean => (flip = !flip) });
    fake.rules.push({ match: everyOther, status: 429 }, { match: /./, status: 500 });
    const jobs: Submitted[] = [];
    jobs.push(await submit(app, user, 'workflow', chaosInput('workflow', 'storm-w1', 12)));
    jobs.push(await submit(app, user, 'workflow', chaosInput('workflow', 'storm-w2', 12)));
    jobs.push(await submit(app, user, 'rag_ingestion', chaosInput('rag_ingestion', 'storm-r', 30)));
    jobs.push(await submit(app, user, 'image_generation', chaosInput('image_generation', 'storm-i', 3)));
    jobs.push(await submit(app, user, 'brief_pipeline', chaosInput('brief_pipeline', 'storm-b', 3)));
    // The storm lasts at least 4 s and until it has hit text, embedding and image requests (a loaded machine may take
    // a while to start the jobs).
    const stormStart = Date.now();
    await eventually(
      async () => (Date.now() - stormStart >= 4000 && new Set(fake.requests.map((r) => r.operation)).size >= 3 ? true : undefined),
      90_000,
      'the storm to reach every operation',
    );
    fake.rules.length = 0;
    const failedRequests = fake.requests.length;
    console.log(`[chaos] provider storm: ${failedRequests} requests answered 429/500 over ${Date.now() - stormStart} ms`);
    const counts = await waitAllFinished(app.pool, jobs.map((j) => j.id), 120_000);
    assert.deepEqual(counts, { completed: jobs.length }, 'no job fails while retries suffice');
    for (const j of jobs) {
      const [charge, ...rest] = await app.ledger(j.id);
      assert.match(charge ?? '', /^charge:1:-\d+$/);
      assert.deepEqual(rest, [], 'nothing refunded, nothing charged twice');
    }
    await assertLedgerConsistent(app.pool, jobs.map((j) => j.id));
  });
});

describe('chaos: provider down for good', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    app = await startJobsApp({ name: 'chaos_down', env: { ...providerEnv(fake), JOB_CHUNK_MAX_ATTEMPTS: '2' }, afterMigrate: chaosBreak() });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('jobs of every kind fail and are refunded exactly once, also when a poison delivery fails them again', async () => {
    const user = await app.createUser(10_000);
    fake.rules.push({ match: /./, status: 500, message: 'the provider is down' });
    const jobs: Submitted[] = [];
    jobs.push(await submit(app, user, 'workflow', chaosInput('workflow', 'down-w', 6)));
    jobs.push(await submit(app, user, 'rag_ingestion', chaosInput('rag_ingestion', 'down-r', 10)));
    jobs.push(await submit(app, user, 'image_generation', chaosInput('image_generation', 'down-i', 2)));
    jobs.push(await submit(app, user, 'brief_pipeline', chaosInput('brief_pipeline', 'down-b', 1)));
    const counts = await waitAllFinished(app.pool, jobs.map((j) => j.id), 120_000);
    assert.deepEqual(counts, { failed: jobs.length }, 'every job fails');
    // The job's queue message may still reach jobs-poison after the orchestration failed it: a second path to fail_job.
    const poison = new QueueClient(testStorageConnectionString(), `${app.queueName}-poison`);
    await poison.createIfNotExists();
    for (const j of jobs) await poison.sendMessage(Buffer.from(JSON.stringify({ jobId: j.id, attempt: 1 })).toString('base64'));
    const deadline = Date.now() + 20_000;
    while ((await poison.getProperties()).approximateMessagesCount !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Let a late duplicate refund land, if the protection were missing.
    await new Promise((r) => setTimeout(r, 1000));
    for (const j of jobs) {
      const ledger = await app.ledger(j.id);
      const charge = Number(/^charge:1:(-\d+)$/.exec(ledger[0] ?? '')?.[1]);
      assert.deepEqual(ledger, [`charge:1:${charge}`, `refund:1:${-charge}`], `${j.kind}: one charge, one full refund`);
    }
    await assertLedgerConsistent(app.pool, jobs.map((j) => j.id));
  });
});
