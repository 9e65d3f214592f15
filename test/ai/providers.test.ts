/**
 * Each text provider through its official SDK against the wire fake: success with usage, 429 with Retry-After,
 * 500, a timeout, a malformed body, a content block and a bad request — each classified as retryable (with the wait
 * the provider asked for) or not. Azure's deployment path and api-key header are checked on the wire.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NonRetriableError, RetryAfterError } from '../../shared/errors';
import { createAnthropicText } from '../../shared/ai/anthropicProvider';
import { createGeminiText } from '../../shared/ai/geminiProvider';
import { createAzureOpenAiText, createOpenAiText } from '../../shared/ai/openaiProvider';
import type { TextGenerator } from '../../shared/ai/types';
import { startAiFake, type AiFake, type FakeProvider } from '../support/aiFake';

describe('text providers at the wire', () => {
  let fake: AiFake;
  before(async () => {
    fake = await startAiFake();
  });
  after(async () => {
    await fake?.close();
  });

  const providers: [FakeProvider, () => TextGenerator][] = [
    ['openai', () => createOpenAiText({ apiKey: 'sk-test', baseUrl: fake.openaiBaseUrl, model: 'gpt-test', timeoutMs: 500 })],
    ['azure-openai', () => createAzureOpenAiText({ endpoint: fake.url, apiKey: 'az-test', apiVersion: '2024-10-21', deployment: 'my-gpt', timeoutMs: 500 })],
    ['anthropic', () => createAnthropicText({ apiKey: 'ant-test', baseUrl: fake.url, model: 'claude-test', timeoutMs: 500 })],
    ['gemini', () => createGeminiText({ apiKey: 'gem-test', baseUrl: fake.url, model: 'gemini-test', timeoutMs: 500 })],
  ];

  for (const [name, make] of providers) {
    describe(name, () => {
      it('returns the text, the model and the usage', async () => {
        const result = await make().generate({ prompt: `${name} hello`, temperature: 0 });
        assert.equal(result.text, `fake ${name} answer to: ${name} hello`);
        assert.equal(result.provider, name);
        assert.deepEqual(result.usage, { requests: 1, inputTokens: Math.ceil(`${name} hello`.length / 4), outputTokens: Math.ceil(result.text.length / 4) });
        const last = fake.requests[fake.requests.length - 1]!;
        assert.equal(last.provider, name);
      });

      it('classifies 429 with Retry-After as retryable after that wait', async () => {
        fake.rules.push({ match: new RegExp(`^${name} busy`), status: 429, retryAfter: 7, times: 1 });
        await assert.rejects(make().generate({ prompt: `${name} busy` }), (err: unknown) => err instanceof RetryAfterError && err.status === 429 && err.retryAfterMs === 7000);
        const ok = await make().generate({ prompt: `${name} busy` });
        assert.match(ok.text, /answer to/, 'and the next try succeeds');
      });

      it('classifies 500 and a timeout as retryable, and the next try succeeds', async () => {
        fake.rules.push({ match: new RegExp(`^${name} broken`), status: 500, times: 1 }, { match: new RegExp(`^${name} slow`), delayMs: 1500, times: 1 });
        await assert.rejects(make().generate({ prompt: `${name} broken` }), (err: unknown) => err instanceof RetryAfterError && err.status === 500);
        assert.match((await make().generate({ prompt: `${name} broken` })).text, /answer to/);
        await assert.rejects(make().generate({ prompt: `${name} slow` }), (err: unknown) => err instanceof RetryAfterError);
        assert.match((await make().generate({ prompt: `${name} slow` })).text, /answer to/);
      });

      it('classifies a bad request, a malformed body and a content block as not retryable, with a readable message', async () => {
        fake.rules.push(
          { match: new RegExp(`^${name} invalid`), status: 400, message: 'max tokens too large', times: 1 },
          { match: new RegExp(`^${name} garbled`), malformed: true, times: 1 },
          { match: new RegExp(`^${name} forbidden`), blocked: true, times: 1 },
        );
        await assert.rejects(make().generate({ prompt: `${name} invalid` }), (err: unknown) => err instanceof NonRetriableError && /rejected the request \(400\)/.test(err.message));
        await assert.rejects(make().generate({ prompt: `${name} garbled` }), (err: unknown) => err instanceof NonRetriableError && /unreadable/.test(err.message));
        await assert.rejects(make().generate({ prompt: `${name} forbidden` }), (err: unknown) => err instanceof NonRetriableError && /blocked this request/.test(err.message));
      });
    });
  }

  it('Azure OpenAI calls the deployment path with api-version and the api-key header', async () => {
    await providers[1]![1]().generate({ prompt: 'azure path check' });
    const req = fake.requests.find((r) => r.prompt === 'azure path check')!;
    assert.equal(req.path, '/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21');
    assert.equal(req.headers['api-key'], 'az-test');
    assert.equal(req.headers.authorization, undefined);
  });

  it('sends each provider its own credentials header', () => {
    const first = (p: FakeProvider) => fake.requests.find((r) => r.provider === p)!;
    assert.equal(first('openai').headers.authorization, 'Bearer sk-test');
    const anthropic = first('anthropic').headers;
    assert.ok(anthropic['x-api-key'] === 'ant-test' || anthropic.authorization === 'Bearer ant-test', 'the Anthropic key, in the header this SDK version uses');
    assert.ok(anthropic['anthropic-version']);
    assert.equal(first('gemini').headers['x-goog-api-key'], 'gem-test');
    assert.equal(first('gemini').path, '/v1beta/models/gemini-test:generateContent');
  });
});
