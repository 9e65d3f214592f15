/**
 * The job engine when things go wrong, on the local host with the official `openai` SDK against a wire-level fake:
 * cancel mid-run, a node that keeps failing (refund, skipped descendants, retry that resumes), transient provider
 * errors, the poison queue, and kill -9 of the host mid-job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import { testStorageConnectionString } from '../support/database';
import { eventually } from '../support/hostProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';


async function counters(app: JobsApp, jobId: string): Promise<{ units_done: number; items_done: number; items_total: number; units_total: number }> {
  const { rows } = await app.pool.query('select units_done::int, items_done::int, items_total::int, units_total::int from longhaul.job_runs where job_id = $1', [jobId]);
  return rows[0] as never;
}


describe('job failures with a provider on the wire', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    fake = await startOpenAiFake();
    app = await startJobsApp({
      name: 'jobs_failure',
      env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '2', JOB_CHUNK_CONCURRENCY: '2' },
    });
    user = await app.createUser(10_000);
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('cancel mid-run stops scheduling, lets in-flight chunks finish and refunds exactly the nodes that did not run', async () => {
    fake.delayMs = 60;
    try {
      const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(400, 'cancel') });
      assert.equal(res.body.creditsCharged, 400);
      await eventually(async () => ((await counters(app, res.body.id))?.units_done >= 10 ? true : undefined), 30_000, 'some nodes done');
      const cancel = await app.api<JobBody>('POST', `/api/jobs/${res.body.id}/cancel`, user);
      assert.equal(cancel.status, 202);
      const job = await app.waitForStatus(res.body.id, ['cancelled', 'completed', 'failed'], 60_000);
      assert.equal(job.status, 'cancelled');
      const done = (await counters(app, res.body.id)).units_done;
      assert.ok(done > 0 && done < 400, `some but not all nodes ran (${done})`);
      assert.equal(Number(job.credits_refunded), 400 - done, 'refund = nodes that did not run');
      assert.equal(fake.calls(/^cancel \d+:/), done, 'no model call for a node that was refunded');
      assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-400', `refund:1:${400 - done}`]);
      assert.equal((await app.api('POST', `/api/jobs/${res.body.id}/cancel`, user)).status, 409, 'a finished job cannot be cancelled again');
    } finally {
      fake.delayMs = 0;
    }
  });

  it('a node that keeps failing fails the job, skips its descendants, refunds unrun nodes, keeps the answers in flight; retry resumes without re-running finished nodes', async () => {
    // ok9 is still in flight when bad fails (one chunk, two calls at a time): its answer must be stored, not thrown
    // away, or the retry asks the provider for it again.
    fake.rules.push({ match: /POISON/, status: 400, message: 'This prompt is not allowed.' }, { match: /^ok 9:/, delayMs: 500 });
    const input = {
      nodes: [
        ...llmNodes(10, 'ok').nodes,
        { id: 'bad', type: 'llm', prompt: 'POISON {{ok0}}', inputs: ['ok0'] },
        { id: 'after1', type: 'llm', prompt: 'after {{bad}}', inputs: ['bad'] },
        { id: 'after2', type: 'template', template: 'end {{after1}}', inputs: ['after1'] },
      ],
    };
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input });
    assert.equal(res.body.creditsCharged, 12);
    const failed = await app.waitForStatus(res.body.id, ['failed', 'completed'], 60_000);
    assert.equal(failed.status, 'failed');
    assert.match(JSON.stringify(failed.error), /not allowed/);
    const items = await app.pool.query<{ key: string; status: string }>('select key, status from longhaul.job_items where job_id = $1', [res.body.id]);
    const status = Object.fromEntries(items.rows.map((r) => [r.key, r.status]));
    assert.equal(status.bad, 'failed');
    assert.equal(status.after1, 'skipped');
    assert.equal(status.after2, 'skipped');
    const doneFirst = (await counters(app, res.body.id)).units_done;
    assert.equal(Number(failed.credits_refunded), 12 - doneFirst, 'every llm node that did not finish is refunded');
    const results = await app.api<{ items: { nodeId: string; status: string; error: { message: string } | null }[] }>('GET', `/api/jobs/${res.body.id}/results`, user);
    assert.match(results.body.items.find((i) => i.nodeId === 'after1')?.error?.message ?? '', /upstream node "bad" failed/);

    fake.rules.length = 0;
    const retry = await app.api<JobBody>('POST', `/api/jobs/${res.body.id}/retry`, user);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.attempt, 2);
    const done = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(done.status, 'completed');
    for (let i = 0; i < 10; i++) assert.equal(fake.calls(new RegExp(`^ok ${i}:`)), 1, `ok${i} ran exactly once across both attempts`);
    assert.equal(fake.calls(/^POISON/), 2, 'the failed node ran again');
    assert.equal(fake.calls(/^after /), 1);
    assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-12', `refund:1:${12 - doneFirst}`, `charge:2:-${12 - doneFirst}`]);
    assert.equal((await app.api('POST', `/api/jobs/${res.body.id}/retry`, user)).status, 409, 'a completed job cannot be retried');
  });

  it('transient provider errors (500, 429) are retried and the job completes', async () => {
    fake.rules.push({ match: /FLAKY/, status: 500, times: 1 }, { match: /FLAKY/, status: 429, times: 1 });
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'f', type: 'llm', prompt: 'FLAKY please' }] } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed');
    assert.equal(fake.calls(/^FLAKY/), 3);
    assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-1']);
    fake.rules.length = 0;
  });

  it('a long Retry-After from the provider becomes a durable timer, not a failure or a sleeping activity', async () => {
    fake.rules.push({ match: /^PATIENCE/, status: 429, retryAfter: 6, times: 1 });
    const started = Date.now();
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'p', type: 'llm', prompt: 'PATIENCE please' }] } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed');
    assert.ok(Date.now() - started >= 5500, 'the job waited for the provider');
    const chunk = await app.pool.query<{ failures: number; attempts: number }>('select failures, attempts from longhaul.job_chunks where job_id = $1', [res.body.id]);
    assert.deepEqual(chunk.rows[0], { failures: 0, attempts: 2 }, 'the wait is not a failure');
    // A one-chunk stage runs in the job's own orchestration (runOneChunkStage), which holds the timer.
    const timers = await app.pool.query<{ n: number }>("select count(*)::int as n from durabletask.history where instance_id = $1 and event::jsonb->>'EventType' = '10'", [`job-${res.body.id}-1`]);
    assert.equal(timers.rows[0]?.n, 1, 'the job orchestration held a durable timer');
    assert.equal(fake.calls(/^PATIENCE/), 2);
  });

  it('kill -9 of the host mid-job: the job completes after restart with every node counted once and one charge', async () => {
    fake.delayMs = 15;
    try {
      const nodes = [...llmNodes(300, 'crash').nodes, { id: 'sum', type: 'template', template: 'all done', inputs: ['crash0', 'crash299'] }];
      const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes } });
      await eventually(async () => ((await counters(app, res.body.id))?.units_done >= 40 ? true : undefined), 30_000, 'work in progress');
      await app.restartHost(true);
      const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 90_000);
      assert.equal(job.status, 'completed');
      const c = await counters(app, res.body.id);
      const dump = await app.pool.query('select status, count(*)::int from longhaul.job_items where job_id = $1 group by 1', [res.body.id]);
      const chunks = await app.pool.query('select idx, status, attempts, failures from longhaul.job_chunks where job_id = $1 order by idx', [res.body.id]);
      assert.equal(c.units_done, 300, `each llm node counted once ${JSON.stringify(dump.rows)} ${JSON.stringify(chunks.rows)} ${JSON.stringify(job.result)}`);
      assert.equal(c.items_done, 301, 'each node counted once');
      const items = await app.pool.query<{ n: number }>("select count(*)::int as n from longhaul.job_items where job_id = $1 and status = 'done'", [res.body.id]);
      assert.equal(items.rows[0]?.n, 301);
      assert.ok(fake.calls(/^crash \d+:/) >= 300, 'at-least-once: a node interrupted by the crash may run again');
      assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-300']);
      const started = await app.pool.query("select count(*)::int as n from public.job_events where job_id = $1 and to_status = 'running'", [res.body.id]);
      assert.equal(started.rows[0].n, 1);
    } finally {
      fake.delayMs = 0;
    }
  });
});

describe('chunks that outlast their time budget', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startOpenAiFake();
    fake.delayMs = 400;
    app = await startJobsApp({
      name: 'jobs_budget',
      env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '2', JOB_CHUNK_TIME_BUDGET_SECONDS: '1' },
    });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('returns partial at the deadline and is rescheduled until done, each node run once', async () => {
    const user = await app.createUser(100);
    // One chunk of 12 llm nodes, 2 at a time at 400 ms each: ~2.4 s of work against a 1 s budget.
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(12, 'slow') });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed');
    const chunk = await app.pool.query<{ attempts: number; failures: number }>('select attempts, failures from longhaul.job_chunks where job_id = $1', [res.body.id]);
    assert.ok(chunk.rows[0]!.attempts >= 2, `the chunk ran in several slices (${chunk.rows[0]!.attempts})`);
    assert.equal(chunk.rows[0]!.failures, 0, 'a partial slice is not a failure');
    assert.equal(fake.calls(/^slow \d+:/), 12, 'no node ran twice');
    assert.equal((await counters(app, res.body.id)).units_done, 12);
  });

  it('a one-chunk stage still partial after 8 slices is handed to a stageRunner, which finishes it', async () => {
    const user = await app.createUser(100);
    fake.delayMs = 900;
    try {
      // 38 llm nodes (one chunk), 2 at a time at 900 ms against a 1 s budget: about 4 nodes a slice, ~10 slices.
      const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(38, 'long') });
      const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 120_000);
      assert.equal(job.status, 'completed');
      const chunk = await app.pool.query<{ attempts: number }>('select attempts from longhaul.job_chunks where job_id = $1', [res.body.id]);
      assert.equal(chunk.rowCount, 1, 'one chunk');
      assert.ok(chunk.rows[0]!.attempts > 8, `more than 8 slices (${chunk.rows[0]!.attempts})`);
      const runner = await app.pool.query('select status from durabletask.instances where instance_id = $1', [`job-${res.body.id}-1-s0`]);
      assert.equal(runner.rows[0]?.status, 'Completed', 'a stageRunner took over the chunk');
      assert.equal(fake.calls(/^long \d+:/), 38, 'no node ran twice');
      assert.equal((await counters(app, res.body.id)).units_done, 38);
    } finally {
      fake.delayMs = 400;
    }
  });
});

describe('poison deliveries', () => {
  let app: JobsApp;
  before(async () => {
    app = await startJobsApp({ name: 'jobs_poison', bridge: false });
  });
  after(async () => {
    await app?.stop();
  });

  it('a delivery that reaches jobs-poison fails the job and refunds it once, however often it arrives', async () => {
    const user = await app.createUser(10);
    // Submit by SQL so nothing is enqueued (no bridge): the job waits, as if its deliveries kept failing.
    const client = await app.pool.connect();
    let id: string;
    try {
      id = (await client.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [llmNodes(4, 'p'), user.id])).rows[0]!.id;
    } finally {
      client.release();
    }
    const poison = new QueueClient(testStorageConnectionString(), `${app.queueName}-poison`);
    await poison.createIfNotExists();
    const message = Buffer.from(JSON.stringify({ jobId: id, attempt: 1 })).toString('base64');
    await poison.sendMessage(message);
    await poison.sendMessage(message);
    const job = await app.waitForStatus(id, ['failed']);
    assert.equal((job.error as { code: string }).code, 'delivery_failed');
    await eventually(async () => ((await poison.getProperties()).approximateMessagesCount === 0 ? true : undefined));
    assert.deepEqual(await app.ledger(id), ['charge:1:-4', 'refund:1:4']);
    const events = await app.pool.query<{ actor: string }>("select actor from public.job_events where job_id = $1 and to_status = 'failed'", [id]);
    assert.deepEqual(events.rows.map((r) => r.actor), ['system:jobsPoison']);
  });
});
