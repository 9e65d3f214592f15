/**
 * Embeddings, transcription and images through the official SDKs against the wire fake, the offline provider's
 * versions of all three, and how AI_PROVIDER picks a provider per capability.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAi, chooseProvider } from '../../shared/ai';
import { createGeminiEmbedder, createGeminiImages } from '../../shared/ai/geminiProvider';
import { createLocalEmbedder, createLocalImages, createLocalTranscriber, hashEmbedding } from '../../shared/ai/localProvider';
import { createOpenAiEmbedder, createOpenAiImages, createOpenAiTranscriber } from '../../shared/ai/openaiMedia';
import { parseConfig } from '../../shared/config';
import { NonRetriableError, RetryAfterError } from '../../shared/errors';
import { fakeVector, startAiFake, type AiFake } from '../support/aiFake';

const cosine = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
const isPng = (b: Buffer): boolean => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

describe('AI capabilities at the wire', () => {
  let fake: AiFake;
  before(async () => {
    fake = await startAiFake();
  });
  after(async () => {
    await fake?.close();
  });
  const azure = (deployment: string) => ({ endpoint: fake.url, apiKey: 'az', apiVersion: '2024-10-21', deployment });

  it('embeds a batch in order through OpenAI, Azure OpenAI and Gemini, with their caps', async () => {
    const texts = ['alpha', 'beta gamma', 'delta'];
    for (const embedder of [
      createOpenAiEmbedder({ apiKey: 'sk', baseUrl: fake.openaiBaseUrl, model: 'text-embedding-3-small' }),
      createOpenAiEmbedder(azure('emb')),
      createGeminiEmbedder({ apiKey: 'g', baseUrl: fake.url, model: 'gemini-embedding-001' }),
    ]) {
      const result = await embedder.embed({ texts });
      assert.deepEqual(result.vectors, texts.map(fakeVector), embedder.provider);
      assert.equal(result.usage.requests, 1);
      assert.ok(result.usage.inputTokens > 0);
    }
    assert.equal(createOpenAiEmbedder(azure('emb')).limits.inputsPerRequest, 2048);
    assert.equal(createGeminiEmbedder({ apiKey: 'g', baseUrl: fake.url, model: 'm' }).limits.inputsPerRequest, 100);
    assert.ok(fake.requests.some((r) => r.path === '/openai/deployments/emb/embeddings?api-version=2024-10-21'));
    assert.ok(fake.requests.some((r) => r.path === '/v1beta/models/gemini-embedding-001:batchEmbedContents' && r.inputs?.length === 3));
  });

  it('transcribes with whisper-1 (segments with timestamps) and gpt-4o-transcribe (text), and refuses files over 25 MB', async () => {
    const audio = Buffer.alloc(4096, 7);
    const whisper = await createOpenAiTranscriber({ apiKey: 'sk', baseUrl: fake.openaiBaseUrl, model: 'whisper-1' }).transcribe({ audio, filename: 'a.mp3', language: 'en' });
    assert.equal(whisper.text, 'fake transcript of whisper-1');
    assert.deepEqual(whisper.segments, [{ startSec: 0, endSec: 6, text: 'fake transcript' }, { startSec: 6, endSec: 12.5, text: 'of whisper-1' }]);
    assert.equal(whisper.usage.audioSeconds, 12.5);
    assert.equal(fake.requests[fake.requests.length - 1]!.bytes, 4096, 'the whole file was uploaded');
    const gpt4o = await createOpenAiTranscriber(azure('gpt-4o-transcribe')).transcribe({ audio, filename: 'a.wav' });
    assert.equal(gpt4o.text, 'fake transcript of gpt-4o-transcribe');
    assert.ok(fake.requests.some((r) => r.path === '/openai/deployments/gpt-4o-transcribe/audio/transcriptions?api-version=2024-10-21'));
    await assert.rejects(createOpenAiTranscriber({ apiKey: 'sk', baseUrl: fake.openaiBaseUrl, model: 'whisper-1' }).transcribe({ audio: Buffer.alloc(25 * 1024 * 1024 + 1), filename: 'big.mp3' }), NonRetriableError);
  });

  it('classifies failures of every capability like text: 429 with its wait, 500 retryable, 400 and blocks final', async () => {
    const openai = { apiKey: 'sk', baseUrl: fake.openaiBaseUrl, timeoutMs: 500 };
    fake.rules.push(
      { match: /^busy/, status: 429, retryAfter: 3 },
      { match: /^down/, status: 503 },
      { match: /^wrong/, status: 400 },
      { match: /^audio 1234 bytes$/, status: 429, retryAfter: 2 },
    );
    const embed = createOpenAiEmbedder({ ...openai, model: 'e' });
    const gemEmbed = createGeminiEmbedder({ apiKey: 'g', baseUrl: fake.url, model: 'e', timeoutMs: 500 });
    const images = createOpenAiImages({ ...openai, model: 'i' });
    const gemImages = createGeminiImages({ apiKey: 'g', baseUrl: fake.url, model: 'i', timeoutMs: 500 });
    const retryAfter = (ms: number) => (err: unknown) => err instanceof RetryAfterError && err.retryAfterMs === ms;
    await assert.rejects(embed.embed({ texts: ['busy'] }), retryAfter(3000));
    await assert.rejects(gemEmbed.embed({ texts: ['busy'] }), retryAfter(3000));
    await assert.rejects(images.generate({ prompt: 'busy' }), retryAfter(3000));
    await assert.rejects(gemImages.generate({ prompt: 'busy' }), retryAfter(3000));
    await assert.rejects(embed.embed({ texts: ['down'] }), (err: unknown) => err instanceof RetryAfterError && err.status === 503);
    await assert.rejects(images.generate({ prompt: 'wrong' }), NonRetriableError);
    await assert.rejects(createOpenAiTranscriber({ ...openai, model: 'whisper-1' }).transcribe({ audio: Buffer.alloc(1234), filename: 'a.mp3' }), retryAfter(2000));
    fake.rules.length = 0;
  });

  it('generates images through OpenAI, Azure OpenAI and Gemini as PNG bytes', async () => {
    for (const images of [
      createOpenAiImages({ apiKey: 'sk', baseUrl: fake.openaiBaseUrl, model: 'gpt-image-1' }),
      createOpenAiImages(azure('img')),
      createGeminiImages({ apiKey: 'g', baseUrl: fake.url, model: 'gemini-2.5-flash-image' }),
    ]) {
      const result = await images.generate({ prompt: 'a lighthouse at dusk', aspectRatio: '16:9' });
      assert.ok(isPng(result.image), images.provider);
      assert.equal(result.contentType, 'image/png');
      assert.deepEqual(result.usage, { requests: 1, images: 1 });
    }
  });
});

describe('the offline provider', () => {
  it('embeds by feature hashing: a text is closest to the one that shares its words', async () => {
    const { vectors } = await createLocalEmbedder().embed({ texts: ['the tidal turbine output', 'tidal turbine output figures', 'a recipe for lemon cake'] });
    assert.ok(cosine(vectors[0]!, vectors[1]!) > cosine(vectors[0]!, vectors[2]!) + 0.3);
    assert.ok(Math.abs(Math.hypot(...vectors[0]!) - 1) < 1e-9, 'unit length');
    assert.deepEqual(hashEmbedding('same text'), hashEmbedding('same text'));
  });

  it('makes valid, deterministic PNG images sized by aspect ratio, and a labelled placeholder transcript', async () => {
    const images = createLocalImages();
    const a = await images.generate({ prompt: 'x', aspectRatio: '16:9' });
    const b = await images.generate({ prompt: 'x', aspectRatio: '16:9' });
    assert.ok(isPng(a.image));
    assert.ok(a.image.equals(b.image));
    assert.equal(a.image.readUInt32BE(16), 112, 'width from the aspect ratio');
    const t = await createLocalTranscriber().transcribe({ audio: Buffer.alloc(10), filename: 'x.mp3' });
    assert.match(t.text, /^\[offline local model\] placeholder transcript/);
  });
});

describe('choosing providers per capability', () => {
  const db = { query: async () => ({ rows: [{ r: -1 }] }) } as never;

  it('auto picks the first configured provider, and fills capabilities it lacks from the next one or the offline model', () => {
    const anthropicOnly = parseConfig({ ANTHROPIC_API_KEY: 'a' });
    assert.equal(chooseProvider(anthropicOnly), 'anthropic');
    const ai = createAi(anthropicOnly, db);
    assert.deepEqual([ai.text.provider, ai.embeddings.provider, ai.transcription.provider, ai.images.provider], ['anthropic', 'local', 'local', 'local']);
    const both = createAi(parseConfig({ AI_PROVIDER: 'anthropic', ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o' }), db);
    assert.deepEqual([both.text.provider, both.embeddings.provider, both.transcription.provider, both.images.provider], ['anthropic', 'openai', 'openai', 'openai']);
    const gemini = createAi(parseConfig({ GEMINI_API_KEY: 'g', OPENAI_API_KEY: 'o' }), db);
    assert.deepEqual([gemini.text.provider, gemini.embeddings.provider, gemini.transcription.provider, gemini.images.provider], ['gemini', 'gemini', 'openai', 'gemini']);
    assert.equal(createAi(parseConfig({}), db).text.provider, 'local');
    const claude = createAi(parseConfig({ GEMINI_API_KEY: 'g', ANTHROPIC_API_KEY: 'a' }), db);
    assert.deepEqual([claude.text.provider, claude.analysis.provider], ['gemini', 'anthropic'], 'analysis prefers Claude when configured');
  });

  it('names the missing setting when a provider is forced without its key', () => {
    assert.throws(() => createAi(parseConfig({ AI_PROVIDER: 'gemini' }), db), /GEMINI_API_KEY is missing/);
    assert.throws(() => createAi(parseConfig({ AI_PROVIDER: 'azure-openai', AZURE_OPENAI_API_KEY: 'k' }), db), /AZURE_OPENAI_ENDPOINT are missing/);
  });
});
