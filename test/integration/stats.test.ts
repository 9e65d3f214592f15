/**
 * GET /api/stats and GET /api/jobs/{id}/details on the real app (local host, migrated Postgres, Azurite queues, the
 * official openai SDK against the wire fake): counts by kind and status, queue and poison depth read from the storage
 * account, per-minute throughput, usage per kind, the shared limiter's rows — and admin only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import { testStorageConnectionString } from '../support/database';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

interface StatsBody {
  generatedAt: string;
  jobs: { byStatus: Record<string, number>; byKindStatus: { kind: string; status: string; count: number }[] };
  queue: { name: string; depth: number | null; poisonName: string; poisonDepth: number | null };
  throughput: { windowMinutes: number; completed: number; failed: number; perMinute: { minute: string; completed: number; failed: number }[] };
  usage: { kind: string; jobs: number; requests: number; inputTokens: number; outputTokens: number }[];
  rateLimiter: { key: string; provider: string; model: string; requestBacklogMs: number; tokenBacklogMs: number; pausedUntil: string | null; updatedAt: string }[];
}

interface DetailsBody {
  job: JobBody & { kind: string };
  stages: { stage: number; name: string; chunkCount: number; chunks: Record<'pending' | 'running' | 'done' | 'failed', number> }[];
  chunkErrors: unknown[];
  itemErrors: { key: string; error: { message: string } }[];
  attempts: { attempt: number; acknowledgedAt: string | null }[];
  events: { from: string | null; to: string; attempt: number; actor: string }[];
}

describe('stats and job details for operators', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  let user: TestUser;
  let completedId: string;
  let failedId: string;
  before(async () => {
    fake = await startOpenAiFake();
    fake.rules.push({ match: /POISON/, status: 400, message: 'This prompt is not allowed.' });
    app = await startJobsApp({ name: 'stats', env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-stats', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000' } });
    user = await app.createUser(1_000);
    const ok = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(3, 'fine') });
    const bad = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'bad', type: 'llm', prompt: 'POISON please' }] } });
    completedId = ok.body.id;
    failedId = bad.body.id;
    assert.equal((await app.waitForStatus(completedId, ['completed', 'failed'], 60_000)).status, 'completed');
    assert.equal((await app.waitForStatus(failedId, ['completed', 'failed'], 60_000)).status, 'failed');
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('answers 401 without the admin key, with a wrong key and for a signed-in user', async () => {
    assert.equal((await app.api('GET', '/api/stats', null)).status, 401);
    assert.equal((await app.api('GET', '/api/stats', user)).status, 401, 'a user token is not enough');
    const wrong = await fetch(`${app.host.url}/api/stats`, { headers: { 'x-functions-key': 'not-the-key' } });
    assert.equal(wrong.status, 401);
    assert.equal((await app.api('GET', `/api/jobs/${failedId}/details`, user)).status, 401);
    assert.equal((await app.api('GET', `/api/jobs/${failedId}/details`, null)).status, 401);
  });

  it('counts jobs by status and by kind x status, with every status present', async () => {
    const res = await app.api<StatsBody>('GET', '/api/stats', 'admin');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.jobs.byStatus, { pending: 0, queued: 0, running: 0, completed: 1, failed: 1, cancelled: 0 });
    assert.deepEqual(res.body.jobs.byKindStatus, [{ kind: 'workflow', status: 'completed', count: 1 }, { kind: 'workflow', status: 'failed', count: 1 }]);
    assert.ok(Math.abs(Date.parse(res.body.generatedAt) - Date.now()) < 60_000);
  });

  it('reports throughput per minute over the last hour: 60 whole minutes, oldest first, ending now', async () => {
    const { body } = await app.api<StatsBody>('GET', '/api/stats', 'admin');
    const t = body.throughput;
    assert.equal(t.windowMinutes, 60);
    assert.equal(t.perMinute.length, 60);
    for (let i = 1; i < 60; i++) assert.equal(Date.parse(t.perMinute[i]!.minute) - Date.parse(t.perMinute[i - 1]!.minute), 60_000, 'consecutive minutes');
    const last = Date.parse(t.perMinute[59]!.minute);
    assert.ok(last <= Date.now() && Date.now() - last < 120_000, 'the last entry is the current minute');
    assert.equal(t.completed, 1);
    assert.equal(t.failed, 1);
    assert.equal(t.perMinute.reduce((n, m) => n + m.completed, 0), 1);
    assert.equal(t.perMinute.reduce((n, m) => n + m.failed, 0), 1);
    // An event older than the window is not counted.
    await app.pool.query("update public.job_events set created_at = now() - interval '2 hours' where job_id = $1 and to_status = 'completed'", [completedId]);
    try {
      const later = (await app.api<StatsBody>('GET', '/api/stats', 'admin')).body.throughput;
      assert.equal(later.completed, 0);
      assert.equal(later.failed, 1);
    } finally {
      await app.pool.query("update public.job_events set created_at = now() where job_id = $1 and to_status = 'completed'", [completedId]);
    }
  });

  it('reports usage per kind and the shared rate limiter rows (provider, model, never the API key)', async () => {
    const { body } = await app.api<StatsBody>('GET', '/api/stats', 'admin');
    const usage = body.usage.find((u) => u.kind === 'workflow');
    assert.ok(usage, 'workflow usage');
    assert.equal(usage.jobs, 2);
    assert.equal(usage.requests, fake.calls(/^fine /), 'one request per successful provider call');
    assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0);
    const limiter = body.rateLimiter.find((r) => r.provider === 'openai');
    assert.ok(limiter, `an openai limiter row in ${JSON.stringify(body.rateLimiter)}`);
    assert.match(limiter.key, /^openai:[^#]+#[0-9a-f]{12}$/);
    assert.ok(limiter.model.length > 0);
    assert.ok(limiter.requestBacklogMs >= 0 && limiter.tokenBacklogMs >= 0);
    assert.equal(limiter.pausedUntil, null);
    assert.doesNotMatch(JSON.stringify(body), /sk-stats/);
    // A provider's Retry-After pauses the key for everyone: the stats show until when.
    const until = new Date(Date.now() + 90_000);
    await app.pool.query('select longhaul.rate_pause($1, $2)', [limiter.key, until]);
    const paused = (await app.api<StatsBody>('GET', '/api/stats', 'admin')).body.rateLimiter.find((r) => r.key === limiter.key);
    assert.equal(paused?.pausedUntil, until.toISOString());
  });

  it('reads queue and poison depth from the storage account (messages not yet visible count too)', async () => {
    const before = (await app.api<StatsBody>('GET', '/api/stats', 'admin')).body.queue;
    assert.deepEqual(before, { name: app.queueName, depth: 0, poisonName: `${app.queueName}-poison`, poisonDepth: 0 });
    // Invisible for a minute, so the app's own triggers leave them alone while we look.
    const jobs = new QueueClient(testStorageConnectionString(), app.queueName);
    const poison = new QueueClient(testStorageConnectionString(), `${app.queueName}-poison`);
    await poison.createIfNotExists();
    const sent = [
      { q: jobs, r: await jobs.sendMessage(Buffer.from('{}').toString('base64'), { visibilityTimeout: 60 }) },
      { q: poison, r: await poison.sendMessage(Buffer.from('{}').toString('base64'), { visibilityTimeout: 60 }) },
      { q: poison, r: await poison.sendMessage(Buffer.from('{}').toString('base64'), { visibilityTimeout: 60 }) },
    ];
    try {
      const { queue } = (await app.api<StatsBody>('GET', '/api/stats', 'admin')).body;
      assert.equal(queue.depth, 1);
      assert.equal(queue.poisonDepth, 2);
    } finally {
      for (const { q, r } of sent) await q.deleteMessage(r.messageId, r.popReceipt);
    }
  });

  it('job details: stages with chunk counts, the failing item error, attempts and the event log; 404 for an unknown job', async () => {
    const res = await app.api<DetailsBody>('GET', `/api/jobs/${failedId}/details`, 'admin');
    assert.equal(res.status, 200);
    const d = res.body;
    assert.equal(d.job.id, failedId);
    assert.equal(d.job.status, 'failed');
    assert.ok(d.stages.length >= 1);
    const chunks = d.stages.reduce((n, s) => n + s.chunks.done + s.chunks.failed + s.chunks.pending + s.chunks.running, 0);
    assert.equal(chunks, d.stages.reduce((n, s) => n + s.chunkCount, 0), 'every planned chunk is counted once');
    assert.equal(d.itemErrors[0]?.key, 'bad');
    assert.match(JSON.stringify(d.itemErrors[0]?.error), /not allowed/);
    assert.deepEqual(d.attempts.map((a) => a.attempt), [1]);
    assert.ok(d.attempts[0]?.acknowledgedAt, 'the attempt was picked up');
    assert.deepEqual(d.events.map((e) => e.to), ['pending', 'queued', 'running', 'failed']);
    const ok = await app.api<DetailsBody>('GET', `/api/jobs/${completedId}/details`, 'admin');
    assert.equal(ok.body.itemErrors.length, 0);
    assert.equal(ok.body.stages.reduce((n, s) => n + s.chunks.done, 0), ok.body.stages.reduce((n, s) => n + s.chunkCount, 0));
    assert.equal((await app.api('GET', '/api/jobs/00000000-0000-4000-8000-000000000000/details', 'admin')).status, 404);
    assert.equal((await app.api('GET', '/api/jobs/not-a-uuid/details', 'admin')).status, 404);
  });
});
