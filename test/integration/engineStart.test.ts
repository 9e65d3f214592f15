/**
 * startJob plans stage 0 in the same activity (one activity and one episode fewer per job). When that planning throws,
 * startJob still reports the attempt running and leaves stage 0 unplanned, so the orchestration calls planStage —
 * whose failures it turns into a failed, refunded job — instead of failing outside its error handling.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import type { AiServices } from '../../shared/ai/types';
import { createEngineActivities } from '../../shared/engine/activities';
import { llmNodes, startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

describe('startJob plans stage 0', () => {
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    // No webhook bridge: the jobs inserted here are driven by the test's own activity calls, not by the host.
    app = await startJobsApp({ name: 'engine_start', bridge: false });
    user = await app.createUser(100);
  });
  after(async () => {
    await app?.stop();
  });

  async function insertJob(): Promise<string> {
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [JSON.stringify(llmNodes(2)), user.id]);
    return rows[0]!.id;
  }

  /** The app's pool, except that the first read of a stage plan fails (a dropped connection while planning). */
  function poolFailingOnce(): Pool {
    let failed = false;
    const query = (...args: unknown[]): unknown => {
      const text = typeof args[0] === 'string' ? args[0] : '';
      if (!failed && text.includes('from longhaul.job_stages')) {
        failed = true;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      return (app.pool.query as (...a: unknown[]) => unknown)(...args);
    };
    return { query, connect: app.pool.connect.bind(app.pool) } as unknown as Pool;
  }

  const activities = (db: Pool) =>
    createEngineActivities({
      db,
      // Planning a workflow calls no model; an empty set of services proves it.
      ai: () => ({}) as AiServices,
      limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 1 },
      chunkTimeBudgetMs: 1000,
      workerConcurrency: 1,
    });

  it('returns the running attempt with stage 0 planned', async () => {
    const id = await insertJob();
    const started = await activities(app.pool).startJob({ jobId: id, attempt: 1 });
    assert.equal(started.run, true);
    assert.deepEqual(started.firstStage, { name: 'nodes', chunks: 1 });
  });

  it('still starts the attempt when planning throws, leaving stage 0 to planStage', async () => {
    const id = await insertJob();
    const engine = activities(poolFailingOnce());
    const started = await engine.startJob({ jobId: id, attempt: 1 });
    assert.equal(started.run, true);
    assert.equal(started.firstStage, undefined, 'no plan: the orchestration will call planStage');
    assert.equal((await app.pool.query('select status from public.jobs where id = $1', [id])).rows[0]?.status, 'running');
    assert.deepEqual(await engine.planStage({ jobId: id, attempt: 1, stage: 0 }), { name: 'nodes', chunks: 1 });
  });
});
