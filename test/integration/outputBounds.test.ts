/**
 * Size and count bounds of what a user sends and what a job makes, on the real host: template amplification refused
 * at submission when it is certain and failed (with a refund) when it shows only at run time, per node, per chunk and
 * per job; request bodies of millions of tiny values refused before parsing; the stored input is the parsed one; an
 * idempotency key names one submission.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AiServices } from '../../shared/ai/types';
import { createEngineActivities } from '../../shared/engine/activities';
import { MAX_CHUNK_OUTPUT_BYTES, MAX_JOB_OUTPUT_BYTES, MAX_NODE_OUTPUT_BYTES } from '../../shared/kinds/workflow/graph';
import { RESULTS_PAGE_BYTES } from '../../shared/jobs/jobStore';
import { MAX_JSON_VALUES } from '../../shared/pgText';
import { startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string; message: string }[]; limitValues?: number } };
}

// One 32,000-byte word: the offline model echoes its prompt's first words, so an llm node fed by it answers with it.
const WORD = 'x'.repeat(32_000);

async function hostPeakRssMb(app: JobsApp): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${app.host.child.pid}/status`, 'utf8').catch(() => '');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describe('output and request bounds', () => {
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    // No webhook bridge: the API enqueues its own submissions, and the jobs inserted by SQL here are driven by the test.
    app = await startJobsApp({ name: 'output_bounds', bridge: false });
    user = await app.createUser(1_000);
  });
  after(async () => {
    await app?.stop();
  });

  it('refuses at submission a template certain to pass the per-node bound (6,500 placeholders over a 32 KB text), charging nothing', async () => {
    const input = { nodes: [{ id: 'a', type: 'text', text: WORD }, { id: 't', type: 'template', template: '{{a}}'.repeat(6_500), inputs: ['a'] }] };
    const res = await app.api<ErrorBody>('POST', '/api/jobs', user, { kind: 'workflow', input });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details?.issues?.[0]?.path, 'input.nodes[1].template');
    assert.match(res.body.error.message, new RegExp(`at least 208000000 bytes, over the limit of ${MAX_NODE_OUTPUT_BYTES} bytes per node`));
    const { rows } = await app.pool.query('select count(*)::int as n from public.jobs where user_id = $1', [user.id]);
    assert.equal(rows[0].n, 0);
    console.log(`host peak RSS after the amplification request: ${(await hostPeakRssMb(app)).toFixed(0)} MB`);
  });

  it('refuses at submission templates whose outputs together are certain to pass the per-job bound', async () => {
    const nodes: unknown[] = [{ id: 'a', type: 'text', text: WORD }];
    // 32 placeholders: ~1 MB a node, under the node bound; 300 of them pass 256 MB.
    for (let i = 0; i < 300; i++) nodes.push({ id: `t${i}`, type: 'template', template: '{{a}}'.repeat(32), inputs: ['a'] });
    const res = await app.api<ErrorBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details?.issues?.[0]?.path, 'input.nodes');
    assert.match(res.body.error.message, new RegExp(`over the limit of ${MAX_JOB_OUTPUT_BYTES} bytes per job`));
  });

  it('fails a template that passes the per-node bound only at run time (its input is a model answer): job failed, output never stored', async () => {
    const input = {
      nodes: [
        { id: 'a', type: 'text', text: WORD },
        { id: 'l', type: 'llm', prompt: '{{a}}'.repeat(20), inputs: ['a'] },
        { id: 'big', type: 'template', template: '{{l}}{{l}}', inputs: ['l'] },
      ],
    };
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(res.body.id, ['failed', 'completed'], 60_000);
    assert.equal(job.status, 'failed');
    const items = await app.pool.query<{ key: string; status: string; bytes: number | null; error: { message: string } | null }>(
      "select key, status, octet_length(output #>> '{}') as bytes, error from longhaul.job_items where job_id = $1 order by seq",
      [res.body.id],
    );
    const big = items.rows.find((r) => r.key === 'big')!;
    assert.equal(big.status, 'failed');
    assert.equal(big.bytes, null, 'nothing stored');
    assert.match(big.error!.message, new RegExp(`node "big": its output would be \\d+ bytes, over the limit of ${MAX_NODE_OUTPUT_BYTES} bytes per node`));
    assert.ok(items.rows.find((r) => r.key === 'l')!.bytes! > 600_000, 'the model answer itself fits');
  });

  it(`fails a chunk whose node outputs pass ${MAX_CHUNK_OUTPUT_BYTES} bytes, each node under its own bound`, async () => {
    const nodes: unknown[] = [
      { id: 'a', type: 'text', text: WORD },
      { id: 'l', type: 'llm', prompt: '{{a}}'.repeat(20), inputs: ['a'] },
    ];
    for (let i = 0; i < 30; i++) nodes.push({ id: `copy${i}`, type: 'template', template: '{{l}}', inputs: ['l'] });
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes } });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(res.body.id, ['failed', 'completed'], 60_000);
    assert.equal(job.status, 'failed');
    const failed = await app.pool.query<{ error: { message: string } }>("select error from longhaul.job_items where job_id = $1 and status = 'failed'", [res.body.id]);
    // Nodes already started beside the first to fail finish too (as any failure): each one is refused the same way.
    assert.ok(failed.rows.length >= 1);
    for (const row of failed.rows) assert.match(row.error.message, new RegExp(`would hold more than ${MAX_CHUNK_OUTPUT_BYTES} bytes of node outputs \\(the limit per chunk\\)`));
    const stored = await app.pool.query<{ total: string }>("select coalesce(sum(octet_length(output #>> '{}')), 0) as total from longhaul.job_items where job_id = $1", [res.body.id]);
    assert.ok(Number(stored.rows[0]!.total) <= MAX_CHUNK_OUTPUT_BYTES);

    // Its results come in pages of at most RESULTS_PAGE_BYTES of outputs, however many items were asked for.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { items: { nodeId: string; output: string | null }[]; nextCursor: string | null } } = await app.api('GET', `/api/jobs/${res.body.id}/results?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, user);
      assert.equal(page.status, 200);
      const bytes = page.body.items.reduce((sum, item) => sum + Buffer.byteLength(JSON.stringify(item.output)), 0);
      assert.ok(bytes <= RESULTS_PAGE_BYTES, `page ${pages}: ${bytes} bytes of outputs`);
      seen.push(...page.body.items.map((i) => i.nodeId));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    assert.ok(pages >= 2, `more than one page (${pages})`);
    assert.deepEqual(seen, nodes.map((n) => (n as { id: string }).id), 'every node once, in order');
  });

  it('fails a node that would take the job past its per-job bound, counted over the chunks already done', async () => {
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [
      JSON.stringify({ nodes: [{ id: 'a', type: 'text', text: 'y'.repeat(1_000) }] }),
      user.id,
    ]);
    const id = rows[0]!.id;
    const engine = createEngineActivities({ db: app.pool, ai: () => ({}) as AiServices, aiCache: 'off', limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 3 }, chunkTimeBudgetMs: 5_000, workerConcurrency: 1 });
    assert.equal((await engine.startJob({ jobId: id, attempt: 1 })).run, true);
    // Earlier chunks of this job already stored all but 500 bytes of its bound.
    await app.pool.query(
      "insert into longhaul.job_chunks (job_id, stage, idx, after, status, input, output) values ($1, 0, 1, -1, 'done', '{}', jsonb_build_object('outputBytes', $2::bigint))",
      [id, MAX_JOB_OUTPUT_BYTES - 500],
    );
    const result = await engine.runChunk({ jobId: id, attempt: 1, stage: 0, stageName: 'nodes', index: 0, maxAttempts: 3 });
    assert.equal(result.status, 'failed');
    assert.match(result.error?.message ?? '', new RegExp(`node "a": the job's node outputs would pass the limit of ${MAX_JOB_OUTPUT_BYTES} bytes per job`));
  });

  it(`refuses a body of more than ${MAX_JSON_VALUES} JSON values with a 413 naming the limit, before anything is stored`, async () => {
    const junk = `[${'{},'.repeat(MAX_JSON_VALUES)}{}]`;
    const body = `{"kind":"workflow","input":{"nodes":[{"id":"a","type":"text","text":"x"}],"junk":${junk}}}`;
    const res = await app.api<ErrorBody>('POST', '/api/jobs', user, body);
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.equal(res.body.error.details?.limitValues, MAX_JSON_VALUES);
    assert.match(res.body.error.message, new RegExp(`more than ${MAX_JSON_VALUES} JSON values`));
    const { rows } = await app.pool.query("select count(*)::int as n from public.jobs where user_id = $1 and input ? 'junk'", [user.id]);
    assert.equal(rows[0].n, 0);
  });

  it('stores the input as the kind parsed it: unknown keys are not kept, defaults are filled in', async () => {
    const input = { nodes: [{ id: 'a', type: 'text', text: 'x', extra: 'dropped' }, { id: 't', type: 'template', template: '{{a}}', inputs: ['a'] }], junk: Array.from({ length: 1000 }, () => ({})) };
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input });
    assert.equal(res.status, 202);
    const { rows } = await app.pool.query('select input from public.jobs where id = $1', [res.body.id]);
    assert.deepEqual(rows[0].input, { nodes: [{ id: 'a', type: 'text', text: 'x' }, { id: 't', type: 'template', template: '{{a}}', inputs: ['a'] }] });
    assert.equal((await app.waitForStatus(res.body.id, ['completed', 'failed'])).status, 'completed');
  });

  it('an idempotency key names one submission: the same kind and input again is the same job (202), anything else a 409', async () => {
    const input = { nodes: [{ id: 'a', type: 'text', text: 'same' }] };
    const first = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input, idempotencyKey: 'order-42' });
    assert.equal(first.status, 202);
    // The same input once parsed (an unknown key more) is the same submission.
    const again = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { ...input, note: 'ignored' }, idempotencyKey: 'order-42' });
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    const other = await app.api<ErrorBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'a', type: 'text', text: 'different' }] }, idempotencyKey: 'order-42' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'conflict');
    assert.equal(other.body.error.details?.issues?.[0]?.path, 'idempotencyKey');
    assert.match(other.body.error.message, /idempotencyKey: "order-42" was already used for job .* with a different kind or input/);
    const otherKind = await app.api<ErrorBody>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: ['a cat'] }, idempotencyKey: 'order-42' });
    assert.equal(otherKind.status, 409);
    const { rows } = await app.pool.query("select count(*)::int as n from public.jobs where user_id = $1 and idempotency_key = 'order-42'", [user.id]);
    assert.equal(rows[0].n, 1);
  });

  it('an invalid job input reaches the orchestration as a bounded error: the first issues, not all 50,000', async () => {
    // Through the Data API an input is only priced at insert; the engine finds it invalid when it plans.
    const nodes = Array.from({ length: 50_000 }, (_, i) => ({ id: `bad id ${i}`, type: 'text', text: 'x' }));
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [JSON.stringify({ nodes }), user.id]);
    const engine = createEngineActivities({ db: app.pool, ai: () => ({}) as AiServices, limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 3 }, chunkTimeBudgetMs: 5_000, workerConcurrency: 1 });
    const started = await engine.startJob({ jobId: rows[0]!.id, attempt: 1 });
    const plan = started.firstStage as { invalid: { code: string; details: { issues: unknown[]; moreIssues: number } } };
    assert.equal(plan.invalid.code, 'invalid_input');
    assert.equal(plan.invalid.details.issues.length, 20);
    assert.equal(plan.invalid.details.moreIssues, 50_000 - 20);
    const size = JSON.stringify(started).length;
    assert.ok(size < 16 * 1024, `what startJob returns to the orchestration: ${size} characters`);
  });
});
