/**
 * A configuration error met inside a chunk (a provider or storage setting the kind reaches only when it runs) fails the
 * chunk at once with the plain "misconfigured" message: retrying in seconds cannot fix a setting, and the setting's
 * name and expected form are for operators (the log), not for the job's owner.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AiServices } from '../../shared/ai/types';
import { ConfigError } from '../../shared/config';
import { createEngineActivities } from '../../shared/engine/activities';
import { MISCONFIGURED_MESSAGE } from '../../shared/jobs/publicError';
import type { Logger } from '../../shared/log';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

const ONE_LLM_NODE = { nodes: [{ id: 'a', type: 'text', text: 'hello' }, { id: 'b', type: 'llm', prompt: 'say {{a}}', inputs: ['a'] }] };
const SECRET_DETAIL = 'Setting OPENAI_API_KEY is needed for model gpt-x (set it in the Function App settings)';

describe('a configuration error inside a chunk', () => {
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    app = await startJobsApp({ name: 'chunk_config_error', bridge: false });
    user = await app.createUser(100);
  });
  after(async () => {
    await app?.stop();
  });

  it('fails the chunk on its first run with the plain misconfigured message; the detail goes to the log only', async () => {
    const logged: string[] = [];
    const log: Logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (message, fields) => void logged.push(`${message} ${JSON.stringify(fields)}`),
      child: () => log,
    };
    const ai = { text: { generate: () => Promise.reject(new ConfigError(SECRET_DETAIL)) } } as unknown as AiServices;
    const engine = createEngineActivities({ db: app.pool, ai: () => ai, aiCache: 'off', limits: { maxInFlight: 1, perGeneration: 10, maxAttempts: 3 }, chunkTimeBudgetMs: 1000, workerConcurrency: 1 });
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [JSON.stringify(ONE_LLM_NODE), user.id]);
    const id = rows[0]!.id;
    assert.equal((await engine.startJob({ jobId: id, attempt: 1 })).run, true);

    const result = await engine.runChunk({ jobId: id, attempt: 1, stage: 0, stageName: 'nodes', index: 0, maxAttempts: 3 }, log);
    assert.equal(result.status, 'failed', 'not thrown for a Durable retry');
    assert.deepEqual(result.error, { message: MISCONFIGURED_MESSAGE, code: 'misconfigured' });
    const chunk = (await app.pool.query('select status, error::text as error from longhaul.job_chunks where job_id = $1', [id])).rows[0];
    assert.equal(chunk.status, 'failed');
    assert.doesNotMatch(chunk.error, /OPENAI_API_KEY/, 'the stored chunk error carries no setting');
    assert.ok(logged.some((line) => line.includes('OPENAI_API_KEY')), 'the operator finds the detail in the log');

    assert.equal((await engine.finishJob({ jobId: id, attempt: 1, outcome: 'failed', error: result.error })).status, 'failed');
    const job = (await app.pool.query('select error from public.jobs where id = $1', [id])).rows[0];
    assert.deepEqual(job.error, { message: MISCONFIGURED_MESSAGE, code: 'misconfigured' });
    assert.deepEqual(await app.ledger(id), ['charge:1:-1', 'refund:1:1']);
  });
});
