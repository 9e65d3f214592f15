/**
 * AI_CACHE=global on the real app, with the official openai SDK against the wire fake: two users send the same text.
 * The second job is answered from the cache (the provider is asked once) yet reports the usage the first job did —
 * a shared hit looks like a miss, so no user learns that someone else sent that text.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

describe('AI_CACHE=global: a hit from another user\'s job reports the usage of a miss', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    fake = await startOpenAiFake();
    app = await startJobsApp({
      name: 'ai_cache_global',
      env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', AI_CACHE: 'global' },
    });
    alice = await app.createUser(1000);
    bob = await app.createUser(1000);
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  async function usageOf(user: TestUser, kind: string, input: unknown): Promise<Record<string, number>> {
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind, input });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000)).status, 'completed');
    return (await app.api<{ usage: Record<string, number> }>('GET', `/api/jobs/${res.body.id}`, user)).body.usage;
  }

  it('text at temperature 0: bob\'s cached answer reports alice\'s usage, which is what an uncached call reports', async () => {
    const node = (temperature: number) => ({ nodes: [{ id: 'n', type: 'llm', prompt: 'global cache probe: the same words from two users', temperature }] });
    const first = await usageOf(alice, 'workflow', node(0));
    const second = await usageOf(bob, 'workflow', node(0));
    assert.equal(fake.calls(/^global cache probe/), 1, 'bob was answered from the cache');
    assert.ok((first.inputTokens ?? 0) > 0 && (first.requests ?? 0) > 0, JSON.stringify(first));
    assert.deepEqual(second, first);
    // Not cacheable (temperature above 0): the provider is asked, and reports the same usage.
    const uncached = await usageOf(bob, 'workflow', node(0.5));
    assert.equal(fake.calls(/^global cache probe/), 2);
    assert.deepEqual(second, uncached);
  });

  it('embeddings: bob\'s cached batch reports the tokens alice\'s batch was charged', async () => {
    const input = { documentId: 'shared-doc', segments: [{ seq: 0, text: 'global embedding probe one' }, { seq: 1, text: 'global embedding probe two, a little longer' }] };
    const embedCalls = (): number => fake.requests.filter((r) => r.operation === 'embed').length;
    const before = embedCalls();
    const first = await usageOf(alice, 'rag_ingestion', input);
    const asked = embedCalls() - before;
    const second = await usageOf(bob, 'rag_ingestion', input);
    assert.ok(asked > 0, 'alice\'s texts were embedded by the provider');
    assert.equal(embedCalls() - before, asked, 'bob\'s vectors came from the cache');
    assert.ok((first.inputTokens ?? 0) > 0, JSON.stringify(first));
    assert.deepEqual(second, first);
  });
});
