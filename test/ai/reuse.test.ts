/** Reuse and resilience around the providers: the content-hash cache, failover, and tightening from rate headers. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { withCache } from '../../shared/ai/cache';
import { withFailover } from '../../shared/ai/failover';
import { createLocalEmbedder, createLocalImages, createLocalText, createLocalTranscriber } from '../../shared/ai/localProvider';
import { createOpenAiText } from '../../shared/ai/openaiProvider';
import { budgetPauseMs } from '../../shared/ai/providerError';
import { createPgLimiter, limitServices, Semaphore } from '../../shared/ai/rateLimiter';
import type { AiServices, TextGenerator } from '../../shared/ai/types';
import { NonRetriableError, RetryAfterError } from '../../shared/errors';
import { applyMigrations } from '../../local/supabase/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startAiFake, type AiFake } from '../support/aiFake';

const local = (): AiServices => ({ text: createLocalText(), analysis: createLocalText(), embeddings: createLocalEmbedder(), transcription: createLocalTranscriber(), images: createLocalImages() });

/** A text generator that fails as told and counts its calls. */
function scripted(provider: string, outcomes: (Error | string)[]): TextGenerator & { calls: number } {
  const gen = {
    provider,
    defaultModel: 'm',
    calls: 0,
    async generate() {
      const next = outcomes[Math.min(gen.calls++, outcomes.length - 1)]!;
      if (next instanceof Error) throw next;
      return { text: next, provider, model: 'm', usage: { requests: 1, inputTokens: 1, outputTokens: 1 } };
    },
  };
  return gen;
}

describe('AI reuse and resilience', () => {
  let db: TestDatabase;
  let pool: Pool;
  let fake: AiFake;
  before(async () => {
    db = await createTestDatabase('ai_reuse');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
    fake = await startAiFake();
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
    await fake?.close();
  });

  it('computes an identical temperature-0 generation once per job scope, and reports the cached answer as free', async () => {
    const text = scripted('p', ['first answer', 'second answer']);
    const ai = withCache({ ...local(), text }, pool, 'job-1');
    const a = await ai.text.generate({ prompt: 'same', temperature: 0 });
    const b = await ai.text.generate({ prompt: 'same', temperature: 0 });
    assert.equal(text.calls, 1);
    assert.equal(b.text, a.text);
    assert.deepEqual(b.usage, { requests: 0, inputTokens: 0, outputTokens: 0 });
    await ai.text.generate({ prompt: 'same', temperature: 0.7 });
    assert.equal(text.calls, 2, 'sampled generations are never cached');
    await withCache({ ...local(), text }, pool, 'job-2').text.generate({ prompt: 'same', temperature: 0 });
    assert.equal(text.calls, 3, 'another job does not see this job\'s cache');
  });

  it('embeds only the texts it has not seen, once each, and keeps the order', async () => {
    let requested: string[][] = [];
    const base = createLocalEmbedder();
    const embeddings = { ...base, embed: async (r: { texts: string[] }) => (requested.push(r.texts), base.embed(r)) };
    const ai = withCache({ ...local(), embeddings }, pool, 'global');
    const first = await ai.embeddings.embed({ texts: ['a b', 'c d', 'a b'] });
    assert.deepEqual(requested, [['a b', 'c d']]);
    requested = [];
    const second = await ai.embeddings.embed({ texts: ['c d', 'e f', 'a b'] });
    assert.deepEqual(requested, [['e f']]);
    assert.deepEqual(second.vectors[0], first.vectors[1]);
    assert.deepEqual(second.vectors[2], first.vectors[0]);
    assert.equal(second.usage.requests, 1);
  });

  it('fails over to the second provider after three transient failures in a row, never for a bad request', async () => {
    const busy = new RetryAfterError('429', 1000, 429);
    const primary = scripted('primary', [busy, busy, busy, 'primary ok']);
    const secondary = scripted('secondary', ['secondary ok']);
    let now = 0;
    const ai = withFailover({ ...local(), text: primary }, { ...local(), text: secondary }, { threshold: 3, coolDownMs: 60_000, now: () => now });
    await assert.rejects(ai.text.generate({ prompt: 'x' }), RetryAfterError);
    await assert.rejects(ai.text.generate({ prompt: 'x' }), RetryAfterError);
    assert.equal((await ai.text.generate({ prompt: 'x' })).text, 'secondary ok', 'the third failure switches');
    assert.equal((await ai.text.generate({ prompt: 'x' })).text, 'secondary ok', 'during the cool-down');
    now = 61_000;
    assert.equal((await ai.text.generate({ prompt: 'x' })).text, 'primary ok', 'then the primary again');
    const bad = scripted('bad', [new NonRetriableError('invalid'), new NonRetriableError('invalid'), new NonRetriableError('invalid')]);
    const strict = withFailover({ ...local(), text: bad }, { ...local(), text: secondary }, { threshold: 1, coolDownMs: 1000 });
    await assert.rejects(strict.text.generate({ prompt: 'x' }), NonRetriableError);
  });

  it('reads a spent budget from x-ratelimit headers and pauses every caller until it resets', async () => {
    assert.equal(budgetPauseMs(new Headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' })), 360_000);
    assert.equal(budgetPauseMs(new Headers({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '250ms' })), 250);
    assert.equal(budgetPauseMs(new Headers({ 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-reset-requests': '1s' })), undefined);
    const at = new Date(Date.now() + 30_000).toISOString();
    assert.ok((budgetPauseMs(new Headers({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': at })) ?? 0) > 28_000);

    fake.rules.push({ match: /^spend it/, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s' }, times: 1 });
    const text = createOpenAiText({ apiKey: 'sk-budget', baseUrl: fake.openaiBaseUrl, model: 'gpt-budget' });
    const ai = limitServices({ ...local(), text }, { limiter: createPgLimiter(pool), limitFor: () => ({ rpm: 100_000 }), apiKey: 'sk-budget', maxWaitMs: 1000, inFlight: new Semaphore(4) });
    await ai.text.generate({ prompt: 'spend it' });
    await assert.rejects(ai.text.generate({ prompt: 'next' }), (err: unknown) => err instanceof RetryAfterError && err.retryAfterMs > 18_000, 'the next caller is told to wait, not sent');
    assert.equal(fake.calls(/^next/), 0);
  });
});
