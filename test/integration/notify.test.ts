/**
 * NOTIFY_WEBHOOK_URL on the real app, against a local HTTP receiver: a failed job posts once, a long-running attempt
 * posts once, and a receiver that hangs or answers 500 neither delays nor fails the job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DurableApi } from '../support/durableApi';
import { eventually } from '../support/hostProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

interface Post {
  at: number;
  body: { text: string; content: string; event: string; job: { id: string; attempt: number; kind: string; status: string; error: { message?: string } | null }; runningSeconds?: number };
}

interface Receiver {
  url: string;
  posts: Post[];
  mode: 'ok' | 'hang' | 'fail';
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const hanging: (() => void)[] = [];
  const receiver: Receiver = { url: '', posts: [], mode: 'ok', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      receiver.posts.push({ at: Date.now(), body: JSON.parse(text) as Post['body'] });
      if (receiver.mode === 'hang') {
        hanging.push(() => res.destroy());
        return;
      }
      res.writeHead(receiver.mode === 'fail' ? 500 : 200, { 'content-type': 'text/plain' }).end(receiver.mode === 'fail' ? 'boom' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = async () => {
    for (const end of hanging) end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('notifications to NOTIFY_WEBHOOK_URL', () => {
  let fake: OpenAiFake;
  let receiver: Receiver;
  let app: JobsApp;
  let user: TestUser;
  let durable: DurableApi;
  const postsFor = (jobId: string, event: string): Post[] => receiver.posts.filter((p) => p.body.job.id === jobId && p.body.event === event);

  before(async () => {
    fake = await startOpenAiFake();
    fake.rules.push({ match: /POISON/, status: 400, message: 'This prompt is not allowed.' });
    receiver = await startReceiver();
    app = await startJobsApp({
      name: 'notify',
      env: {
        AI_PROVIDER: 'openai',
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: fake.baseUrl,
        OPENAI_RPM: '1000000',
        WORKER_CONCURRENCY: '2',
        JOB_CHUNK_CONCURRENCY: '2',
        NOTIFY_WEBHOOK_URL: receiver.url,
        // 3 s: a job of a few seconds crosses it; the host's sweeper ticks every second.
        NOTIFY_LONG_RUNNING_MINUTES: '0.05',
        // Far longer than any job here: if a notification were awaited on the job's path, the job would wait this long.
        NOTIFY_TIMEOUT_MS: '20000',
      },
    });
    durable = new DurableApi(app.host.url, app.host.keys.masterKey);
    user = await app.createUser(10_000);
  });
  after(async () => {
    await app?.stop();
    await receiver?.close();
    await fake?.close();
  });

  async function failingJob(): Promise<{ id: string; failedAt: number }> {
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'bad', type: 'llm', prompt: 'POISON please' }] } });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(res.body.id, ['failed', 'completed'], 30_000);
    assert.equal(job.status, 'failed');
    return { id: res.body.id, failedAt: Date.now() };
  }

  it('a failed job posts once, with Slack text, Discord content and structured fields', async () => {
    receiver.mode = 'ok';
    const { id } = await failingJob();
    const post = await eventually(async () => postsFor(id, 'job.failed')[0], 15_000, 'the failure notice');
    assert.match(post.body.text, new RegExp(`workflow job ${id} failed on attempt 1`));
    assert.equal(post.body.content, post.body.text);
    assert.equal(post.body.job.status, 'failed');
    assert.equal(post.body.job.attempt, 1);
    assert.match(post.body.job.error?.message ?? '', /not allowed/);
    // The sweeper ticks every second and also looks for failures not yet notified: still one post.
    await sleep(3000);
    assert.equal(postsFor(id, 'job.failed').length, 1);
    const { rows } = await app.pool.query('select attempt, reason from longhaul.job_notifications where job_id = $1', [id]);
    assert.deepEqual(rows, [{ attempt: 1, reason: 'failed' }]);
  });

  it('an attempt running longer than NOTIFY_LONG_RUNNING_MINUTES posts once', async () => {
    receiver.mode = 'ok';
    // 10 nodes, 2 at a time, 1.2 s each: about 6 s of running.
    fake.delayMs = 1200;
    try {
      const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(10, 'slow') });
      const post = await eventually(async () => postsFor(res.body.id, 'job.long_running')[0], 20_000, 'the long-running notice');
      assert.equal(post.body.job.status, 'running');
      assert.ok((post.body.runningSeconds ?? 0) >= 3, `running for at least the threshold (${post.body.runningSeconds} s)`);
      assert.match(post.body.text, /has been running for/);
      assert.equal((await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000)).status, 'completed');
      await sleep(2000);
      assert.equal(postsFor(res.body.id, 'job.long_running').length, 1, 'one notice per attempt, however many sweeper ticks');
    } finally {
      fake.delayMs = 0;
    }
  });

  for (const mode of ['hang', 'fail'] as const) {
    it(`a receiver that ${mode === 'hang' ? 'never answers' : 'answers 500'} neither delays nor fails the job`, async () => {
      receiver.mode = mode;
      const started = Date.now();
      const { id, failedAt } = await failingJob();
      // The orchestration ends right after finishJob: it did not wait for the receiver (NOTIFY_TIMEOUT_MS is 20 s).
      const instance = await durable.waitForEnd(`job-${id}-1`, 10_000);
      assert.equal(instance.runtimeStatus, 'Completed');
      assert.ok(Date.now() - started < 15_000, `the job ended in ${Date.now() - started} ms`);
      assert.ok(Date.now() - failedAt < 5_000, 'the orchestration finished promptly after the failure');
      await eventually(async () => postsFor(id, 'job.failed')[0], 10_000, 'the notice was attempted');
      const job = await app.api<JobBody>('GET', `/api/jobs/${id}`, user);
      assert.equal(job.body.status, 'failed');
      assert.match(String((job.body.error as { message?: string } | null)?.message), /not allowed/, 'the job keeps its own error, not the receiver\'s');
      // A working job is not held back either.
      const ok = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(2, `after-${mode}`) });
      assert.equal((await app.waitForStatus(ok.body.id, ['completed', 'failed'], 15_000)).status, 'completed');
      await sleep(1500);
      assert.equal(postsFor(id, 'job.failed').length, 1, 'not retried');
    });
  }
});
