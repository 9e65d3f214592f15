/**
 * The job engine end to end on the local host (real Postgres, Azurite, @azure/functions and durable-functions):
 * submission by SQL insert and by API, webhook and queue delivery, duplicates, lost deliveries, bad input, RLS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import { testStorageConnectionString } from '../support/database';
import { eventually } from '../support/hostProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';


const workflow = {
  nodes: [
    { id: 'topic', type: 'text', text: 'tidal energy' },
    { id: 'outline', type: 'llm', prompt: 'Outline an article about {{topic}}', inputs: ['topic'] },
    { id: 'title', type: 'llm', prompt: 'Title for {{topic}}', inputs: ['topic'] },
    { id: 'final', type: 'template', template: '# {{title}}\n{{outline}}', inputs: ['title', 'outline'] },
  ],
};

async function asUser<T>(app: JobsApp, user: TestUser, sql: string, values: unknown[]): Promise<T[]> {
  const client = await app.pool.connect();
  try {
    await client.query('begin');
    await client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: user.id, role: 'authenticated' })]);
    const { rows } = await client.query(sql, values);
    await client.query('commit');
    return rows as T[];
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}


describe('job delivery: webhook -> queue -> orchestration', () => {
  let app: JobsApp;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    app = await startJobsApp({ name: 'jobs_delivery' });
    alice = await app.createUser(1000);
    bob = await app.createUser(1000);
  });
  after(async () => {
    await app?.stop();
  });

  it('a plain insert into public.jobs by a signed-in user runs the workflow to completion with the right outputs', async () => {
    const [row] = await asUser<{ id: string; credits_charged: string }>(app, alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id, credits_charged", [workflow]);
    assert.equal(Number(row!.credits_charged), 2, 'two llm nodes cost two credits');
    const job = await app.waitForStatus(row!.id, ['completed', 'failed']);
    assert.equal(job.status, 'completed');
    const result = job.result as { outputs: Record<string, string>; completed: number };
    assert.equal(result.completed, 4);
    assert.match(result.outputs.final ?? '', /^# \[offline local model \w+\] Title for tidal energy\n\[offline local model \w+\] Outline an article about tidal energy$/);
    assert.deepEqual(job.progress, { done: 4, total: 4, percent: 100, stage: 'nodes', message: null });
    const res = await app.api<{ items: { nodeId: string; status: string; output: string }[]; nextCursor: string | null }>('GET', `/api/jobs/${row!.id}/results?limit=3`, alice);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((i) => i.nodeId), ['topic', 'outline', 'title']);
    assert.equal(res.body.items[0]?.output, 'tidal energy');
    const page2 = await app.api<{ items: { nodeId: string }[]; nextCursor: string | null }>('GET', `/api/jobs/${row!.id}/results?limit=3&cursor=${res.body.nextCursor}`, alice);
    assert.deepEqual(page2.body.items.map((i) => i.nodeId), ['final']);
    assert.equal(page2.body.nextCursor, null);
  });

  it('POST /api/jobs submits, charges and completes; GET shows progress and the result', async () => {
    const before = await app.api<{ balance: number }>('GET', '/api/credits', alice);
    const res = await app.api<JobBody>('POST', '/api/jobs', alice, { kind: 'workflow', input: workflow });
    assert.equal(res.status, 202);
    assert.equal(res.body.creditsCharged, 2);
    assert.ok(['pending', 'queued', 'running', 'completed'].includes(res.body.status));
    await app.waitForStatus(res.body.id, ['completed']);
    const got = await app.api<JobBody>('GET', `/api/jobs/${res.body.id}`, alice);
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'completed');
    assert.equal(got.body.progress.percent, 100);
    const afterCredits = await app.api<{ balance: number; ledger: { entry: string; jobId: string }[] }>('GET', '/api/credits', alice);
    assert.equal(afterCredits.body.balance, before.body.balance - 2);
    assert.equal(afterCredits.body.ledger[0]?.jobId, res.body.id);
  });

  it('a repeated idempotencyKey returns the same job and charges once', async () => {
    const body = { kind: 'workflow', input: llmNodes(3), idempotencyKey: 'order-42' };
    const first = await app.api<JobBody>('POST', '/api/jobs', alice, body);
    const second = await app.api<JobBody>('POST', '/api/jobs', alice, body);
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    await app.waitForStatus(first.body.id, ['completed']);
    assert.deepEqual(await app.ledger(first.body.id), ['charge:1:-3']);
  });

  it('ten duplicate webhook deliveries start one orchestration and charge once', async () => {
    const [row] = await asUser<{ id: string }>(app, bob, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [llmNodes(2, 'dup')]);
    const payload = { type: 'INSERT', table: 'jobs', schema: 'public', record: { id: row!.id, attempt: 1, status: 'pending' }, old_record: null };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${app.host.url}/api/webhooks/supabase`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': app.webhookSecret }, body: JSON.stringify(payload) }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(202));
    await app.waitForStatus(row!.id, ['completed']);
    // Give the duplicates time to be consumed before counting.
    await eventually(async () => {
      const q = new QueueClient(testStorageConnectionString(), app.queueName);
      const props = await q.getProperties();
      return props.approximateMessagesCount === 0 ? true : undefined;
    });
    const started = await app.pool.query("select count(*)::int as n from public.job_events where job_id = $1 and to_status = 'running'", [row!.id]);
    assert.equal(started.rows[0].n, 1, 'the job started once');
    const history = await app.pool.query("select count(*)::int as n from durabletask.history where instance_id = $1 and event->>'EventType' = '0'", [`job-${row!.id}-1`]).catch(() => undefined);
    void history;
    const executions = await app.pool.query<{ n: number }>("select count(distinct execution_id)::int as n from durabletask.instances where instance_id = $1", [`job-${row!.id}-1`]);
    assert.equal(executions.rows[0]?.n, 1, 'one orchestration instance');
    assert.deepEqual(await app.ledger(row!.id), ['charge:1:-2']);
    const deliveries = await app.pool.query<{ enqueue_count: number }>('select enqueue_count from longhaul.job_deliveries where job_id = $1', [row!.id]);
    assert.ok((deliveries.rows[0]?.enqueue_count ?? 0) >= 10, 'every delivery was enqueued and deduplicated downstream');
  });

  it('a wrong webhook secret is 401 and a malformed payload is 400, with nothing enqueued', async () => {
    const [row] = await asUser<{ id: string }>(app, bob, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [llmNodes(1, 'guard')]);
    // Let the bridge's real delivery pass first, then probe with bad ones on a job that is already past pending.
    await app.waitForStatus(row!.id, ['completed']);
    const good = { type: 'INSERT', table: 'jobs', schema: 'public', record: { id: row!.id, attempt: 1, status: 'pending' }, old_record: null };
    const q = new QueueClient(testStorageConnectionString(), app.queueName);
    await eventually(async () => ((await q.getProperties()).approximateMessagesCount === 0 ? true : undefined));
    const before = await app.pool.query<{ enqueue_count: number }>('select enqueue_count from longhaul.job_deliveries where job_id = $1', [row!.id]);
    const wrong = await fetch(`${app.host.url}/api/webhooks/supabase`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': 'not-the-secret-at-all' }, body: JSON.stringify(good) });
    assert.equal(wrong.status, 401);
    const missing = await fetch(`${app.host.url}/api/webhooks/supabase`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) });
    assert.equal(missing.status, 401);
    for (const bad of ['{not json', JSON.stringify({ type: 'INSERT', table: 'jobs' }), JSON.stringify({ ...good, type: 'TRUNCATE' })]) {
      const res = await fetch(`${app.host.url}/api/webhooks/supabase`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': app.webhookSecret }, body: bad });
      assert.equal(res.status, 400, bad);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'invalid_input');
    }
    const afterRows = await app.pool.query<{ enqueue_count: number }>('select enqueue_count from longhaul.job_deliveries where job_id = $1', [row!.id]);
    assert.equal(afterRows.rows[0]?.enqueue_count, before.rows[0]?.enqueue_count, 'nothing was enqueued');
    assert.equal((await q.getProperties()).approximateMessagesCount, 0);
  });

  it('bad API input is a 400 naming the field, with nothing charged or enqueued', async () => {
    const before = await app.api<{ balance: number }>('GET', '/api/credits', alice);
    const count = async (): Promise<number> => (await app.pool.query<{ n: number }>('select count(*)::int as n from public.jobs where user_id = $1', [alice.id])).rows[0]!.n;
    const jobsBefore = await count();
    const cases: [unknown, string][] = [
      [{ kind: 'nope', input: {} }, 'kind'],
      [{ kind: 'workflow' }, 'input'],
      [{ kind: 'workflow', input: { nodes: [] } }, 'input.nodes'],
      [{ kind: 'workflow', input: { nodes: [{ id: 'a', type: 'llm', prompt: '{{b}}', inputs: ['b'] }] } }, 'input.nodes[0].inputs[0]'],
      [{ kind: 'workflow', input: { nodes: [{ id: 'a', type: 'text', text: 'x' }, { id: 'a', type: 'text', text: 'y' }] } }, 'input.nodes[1].id'],
      [{ kind: 'workflow', input: { nodes: [{ id: 'a', type: 'llm', prompt: '{{c}}', inputs: [] }] } }, 'input.nodes[0].prompt'],
      [{ kind: 'workflow', input: { nodes: [{ id: 'a', type: 'llm', prompt: 'x'.repeat(33 * 1024) }] } }, 'input.nodes[0].prompt'],
      [{ kind: 'workflow', input: { nodes: [{ id: 'a', type: 'telepathy' }] } }, 'input.nodes[0].type'],
      [{ kind: 'workflow', input: llmNodes(1), priority: 1000 }, 'priority'],
    ];
    for (const [body, field] of cases) {
      const res = await app.api<JobBody>('POST', '/api/jobs', alice, body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 100));
      assert.ok(res.body.error?.details?.issues.some((i) => i.path === field), `${field} named in ${JSON.stringify(res.body.error)}`);
    }
    const cycle = await app.api<JobBody>('POST', '/api/jobs', alice, {
      kind: 'workflow',
      input: { nodes: [{ id: 'a', type: 'template', template: '{{c}}', inputs: ['c'] }, { id: 'b', type: 'template', template: '{{a}}', inputs: ['a'] }, { id: 'c', type: 'template', template: '{{b}}', inputs: ['b'] }] },
    });
    assert.equal(cycle.status, 400);
    assert.match(cycle.body.error?.message ?? '', /cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    const notJson = await app.api<JobBody>('POST', '/api/jobs', alice, '{');
    assert.equal(notJson.status, 400);
    assert.equal(await count(), jobsBefore);
    assert.equal((await app.api<{ balance: number }>('GET', '/api/credits', alice)).body.balance, before.body.balance);
  });

  it('too few credits: the API answers 402 and a direct insert fails with a clear message', async () => {
    const poor = await app.createUser(2);
    const res = await app.api<JobBody>('POST', '/api/jobs', poor, { kind: 'workflow', input: llmNodes(5) });
    assert.equal(res.status, 402);
    assert.equal(res.body.error?.code, 'insufficient_credits');
    assert.match(res.body.error?.message ?? '', /costs 5 credits and the balance is 2/);
    await assert.rejects(asUser(app, poor, "insert into public.jobs (kind, input) values ('workflow', $1)", [llmNodes(5)]), /insufficient credits/);
    assert.equal((await app.api<{ balance: number }>('GET', '/api/credits', poor)).body.balance, 2);
  });

  it('users see only their own jobs: another user\'s job is 404 and lists are per user; admin sees all', async () => {
    const mine = await app.api<JobBody>('POST', '/api/jobs', alice, { kind: 'workflow', input: llmNodes(1, 'private') });
    assert.equal((await app.api('GET', `/api/jobs/${mine.body.id}`, bob)).status, 404);
    assert.equal((await app.api('GET', `/api/jobs/${mine.body.id}/results`, bob)).status, 404);
    assert.equal((await app.api('POST', `/api/jobs/${mine.body.id}/cancel`, bob)).status, 404);
    assert.equal((await app.api('POST', `/api/jobs/${mine.body.id}/retry`, bob)).status, 404);
    const bobs = await app.api<{ jobs: JobBody[] }>('GET', '/api/jobs?limit=100', bob);
    assert.ok(!bobs.body.jobs.some((j) => j.id === mine.body.id));
    const admin = await app.api<JobBody>('GET', `/api/jobs/${mine.body.id}`, 'admin');
    assert.equal(admin.status, 200);
    const onBehalf = await app.api<JobBody>('POST', '/api/jobs', 'admin', { kind: 'workflow', input: llmNodes(1, 'ops'), userId: bob.id });
    assert.equal(onBehalf.status, 202, 'an operator submits for a user, who pays');
    assert.equal((await app.api('GET', `/api/jobs/${onBehalf.body.id}`, bob)).status, 200);
    assert.equal((await app.api('POST', '/api/jobs', 'admin', { kind: 'workflow', input: llmNodes(1) })).status, 400, 'admin must name the user');
    assert.equal((await app.api('POST', '/api/jobs', 'admin', { kind: 'workflow', input: llmNodes(1), userId: '00000000-0000-4000-8000-000000000000' })).status, 400);
    assert.equal((await app.api('GET', '/api/jobs', null)).status, 401);
    assert.equal((await app.api('GET', `/api/jobs/${mine.body.id}`, { id: alice.id, token: `${alice.token}x` })).status, 401);
  });

  it('lists page newest first with a cursor and filter by status and kind', async () => {
    const user = await app.createUser(100);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(1, `page${i}`) })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { jobs: JobBody[]; nextCursor: string | null } } = await app.api('GET', `/api/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, user);
      seen.push(...res.body.jobs.map((j) => j.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    for (const id of ids) await app.waitForStatus(id, ['completed']);
    const completed = await app.api<{ jobs: JobBody[] }>('GET', '/api/jobs?status=completed&kind=workflow', user);
    assert.equal(completed.body.jobs.length, 5);
    assert.equal((await app.api('GET', '/api/jobs?status=bogus', user)).status, 400);
    assert.equal((await app.api('GET', '/api/jobs?cursor=garbage', user)).status, 400);
  });
});

describe('lost webhook deliveries', () => {
  let app: JobsApp;
  before(async () => {
    app = await startJobsApp({ name: 'jobs_sweeper', bridge: false, env: { SWEEPER_REDELIVER_AFTER_SECONDS: '1', SWEEPER_STUCK_AFTER_SECONDS: '1' } });
  });
  after(async () => {
    await app?.stop();
  });

  it('a job whose webhook never arrives is started by the sweeper', async () => {
    const user = await app.createUser(10);
    const [row] = await asUser<{ id: string }>(app, user, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [llmNodes(2, 'lost')]);
    const started = Date.now();
    const job = await app.waitForStatus(row!.id, ['completed'], 30_000);
    assert.equal(job.status, 'completed');
    const delivery = await app.pool.query<{ enqueue_count: number; acknowledged_at: Date | null }>('select enqueue_count, acknowledged_at from longhaul.job_deliveries where job_id = $1', [row!.id]);
    assert.ok(delivery.rows[0]!.enqueue_count >= 1);
    assert.ok(delivery.rows[0]!.acknowledged_at);
    const events = await app.pool.query<{ actor: string }>("select actor from public.job_events where job_id = $1 and to_status = 'queued'", [row!.id]);
    assert.equal(events.rowCount, 0, 'no webhook marked it queued: only the sweeper delivered it');
    assert.ok(Date.now() - started < 20_000, 'started within the sweeper bound');
  });

  /** A job the database believes is running, without the orchestration that should be running it. */
  async function runningWithoutOrchestration(nodes: number): Promise<string> {
    const user = await app.createUser(10);
    const client = await app.pool.connect();
    try {
      await client.query('begin');
      const id = (await client.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [llmNodes(nodes, 'orphan'), user.id])).rows[0]!.id;
      await client.query("select longhaul.start_job($1, 1, 'test')", [id]);
      await client.query("select longhaul.acknowledge_delivery($1, 1)", [id]);
      await client.query('commit');
      return id;
    } finally {
      client.release();
    }
  }

  it('restarts a running job whose orchestration is missing, and it completes', async () => {
    const id = await runningWithoutOrchestration(2);
    const job = await app.waitForStatus(id, ['completed', 'failed'], 30_000);
    assert.equal(job.status, 'completed');
    assert.deepEqual(await app.ledger(id), ['charge:1:-2']);
  });

  it('fails and refunds (once) a running job whose orchestration died', async () => {
    const id = await runningWithoutOrchestration(3);
    // An instance with the job's id that ends Failed: the stage runner started with an input it cannot use.
    const res = await fetch(`${app.host.url}/runtime/webhooks/durabletask/orchestrators/stageRunner/job-${id}-1?code=${app.host.keys.masterKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(id, ['failed', 'completed'], 30_000);
    assert.equal(job.status, 'failed');
    assert.equal((job.error as { code: string }).code, 'orchestration_ended');
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(await app.ledger(id), ['charge:1:-3', 'refund:1:3']);
  });
});

