/**
 * Job.etaSeconds through the API: running jobs extrapolate their progress rate; waiting jobs multiply their queue
 * position by the recent time per completion of their kind; null whenever there is nothing to go on.
 * Job states are set up with the migrations' own SQL transitions (no orchestration runs: bridge off, API not used).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';

type EtaJob = JobBody & { etaSeconds: number | null; queuePosition: number | null };

describe('Job.etaSeconds', () => {
  let app: JobsApp;
  let user: TestUser;

  async function insert(kind = 'workflow', input: unknown = llmNodes(1)): Promise<string> {
    const { rows } = await app.pool.query<{ id: string }>('insert into public.jobs (kind, input, user_id) values ($1, $2::jsonb, $3) returning id', [kind, JSON.stringify(input), user.id]);
    return rows[0]!.id;
  }
  async function get(id: string): Promise<EtaJob> {
    const res = await app.api<EtaJob>('GET', `/api/jobs/${id}`, user);
    assert.equal(res.status, 200);
    return res.body;
  }

  before(async () => {
    app = await startJobsApp({ name: 'jobs_eta', bridge: false });
    user = await app.createUser(1000);
  });
  after(async () => {
    await app?.stop();
  });

  it('is null for a waiting job of a kind with no recent completions, and for a running job with no progress yet', async () => {
    const waiting = await insert();
    assert.equal((await get(waiting)).etaSeconds, null);
    const running = await insert();
    await app.pool.query("select longhaul.start_job($1, 1, 'test')", [running]);
    const job = await get(running);
    assert.equal(job.status, 'running');
    assert.equal(job.etaSeconds, null);
    await app.pool.query("select longhaul.fail_job(id, attempt, '{}'::jsonb, 'test') from public.jobs where id = any($1::uuid[])", [[waiting, running]]);
  });

  it('a running job: elapsed x remaining / done', async () => {
    const id = await insert();
    await app.pool.query("select longhaul.start_job($1, 1, 'test')", [id]);
    // 25 of 100 items in 100 s: 75 more take about 300 s.
    await app.pool.query(`update public.jobs set started_at = now() - interval '100 seconds',
      progress = '{"done": 25, "total": 100, "percent": 25, "stage": "nodes", "message": null}'::jsonb where id = $1`, [id]);
    const eta = (await get(id)).etaSeconds;
    assert.ok(eta !== null && eta >= 299 && eta <= 305, `eta ${eta}`);
    await app.pool.query("select longhaul.fail_job($1, 1, '{}'::jsonb, 'test')", [id]);
  });

  it('a waiting job: queue position x recent wall-clock time per completion of its kind; null once finished', async () => {
    // Four workflow jobs completed within 200 s of wall-clock time: one every 50 s.
    const done: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await insert();
      await app.pool.query("select longhaul.start_job($1, 1, 'test')", [id]);
      await app.pool.query("select longhaul.complete_job($1, 1, '{}'::jsonb, 'test')", [id]);
      done.push(id);
    }
    await app.pool.query(`update public.jobs set started_at = now() - interval '300 seconds' + make_interval(secs => 50 * o.n),
      finished_at = now() - interval '250 seconds' + make_interval(secs => 50 * o.n)
      from unnest($1::uuid[]) with ordinality as o(id, n) where jobs.id = o.id`, [done]);
    const first = await insert();
    const second = await insert();
    const [a, b] = [await get(first), await get(second)];
    assert.equal(a.queuePosition, 1);
    assert.equal(b.queuePosition, 2);
    assert.equal(a.etaSeconds, 50);
    assert.equal(b.etaSeconds, 100);
    // Another kind has its own throughput (none yet) even though it queues behind the workflows.
    const rag = await insert('rag_ingestion', { documentId: 'd1', segments: [{ seq: 0, text: 'hello' }] });
    const ragJob = await get(rag);
    assert.equal(ragJob.queuePosition, 3);
    assert.equal(ragJob.etaSeconds, null);
    assert.equal((await get(done[0]!)).etaSeconds, null, 'a finished job has no ETA');
    // The list answers the same field.
    const list = await app.api<{ jobs: EtaJob[] }>('GET', '/api/jobs?status=pending&kind=workflow', user);
    assert.deepEqual(list.body.jobs.map((j) => j.etaSeconds).sort(), [100, 50].sort());
  });
});
