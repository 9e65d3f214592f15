/** Embeddings, transcription and images through the official `openai` SDK, for OpenAI and Azure OpenAI deployments. */
import { toFile } from 'openai';
import { NonRetriableError } from '../errors';
import { classifyOpenAiError, openAiClient, type AzureOpenAiOptions, type OpenAiOptions } from './openaiProvider';
import type { Embedder, ImageGenerator, Transcriber } from './types';

// OpenAI's published caps per embeddings request (platform-limits.md): the batcher sizes requests by these.
const EMBEDDING_LIMITS = { inputsPerRequest: 2048, tokensPerRequest: 300_000, tokensPerInput: 8191 };
// whisper-1 and gpt-4o-transcribe take uploads of at most 25 MB, on OpenAI and on Azure.
const TRANSCRIBE_MAX_BYTES = 25 * 1024 * 1024;
const IMAGE_SIZES: Record<string, string> = { '1:1': '1024x1024', '16:9': '1536x1024', '4:3': '1536x1024', '9:16': '1024x1536', '3:4': '1024x1536' };

export function createOpenAiEmbedder(opts: OpenAiOptions | AzureOpenAiOptions): Embedder {
  const { client, provider, model: defaultModel } = openAiClient(opts);
  return {
    provider,
    defaultModel,
    limits: EMBEDDING_LIMITS,
    async embed(request, signal) {
      const model = request.model ?? defaultModel;
      try {
        // Floats asked for explicitly: the SDK's default (base64) would need decoding and some servers lack it.
        const response = await client.embeddings.create({ model, input: request.texts, encoding_format: 'float' }, { signal });
        const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
        if (vectors.length !== request.texts.length) throw new NonRetriableError(`${provider} returned ${vectors.length} embeddings for ${request.texts.length} texts`);
        return { vectors, provider, model: response.model || model, usage: { requests: 1, inputTokens: response.usage?.prompt_tokens ?? 0 } };
      } catch (err) {
        throw classifyOpenAiError(provider, err);
      }
    },
  };
}

export function createOpenAiTranscriber(opts: OpenAiOptions | AzureOpenAiOptions): Transcriber {
  const { client, provider, model: defaultModel } = openAiClient(opts);
  return {
    provider,
    defaultModel,
    maxUploadBytes: TRANSCRIBE_MAX_BYTES,
    async transcribe(request, signal) {
      const model = request.model ?? defaultModel;
      if (request.audio.length > TRANSCRIBE_MAX_BYTES) throw new NonRetriableError(`${request.filename} is ${request.audio.length} bytes; ${provider} accepts at most 25 MB per upload`);
      try {
        // whisper-1 gives segment timestamps (verbose_json); the gpt-4o transcribe models answer json (text only).
        const verbose = model.startsWith('whisper');
        const response = (await client.audio.transcriptions.create(
          {
            file: await toFile(request.audio, request.filename),
            model,
            response_format: verbose ? 'verbose_json' : 'json',
            ...(request.language ? { language: request.language } : {}),
          },
          { signal },
        )) as { text: string; duration?: number; segments?: { start: number; end: number; text: string }[] };
        const duration = response.duration;
        const segments = response.segments?.map((s) => ({ startSec: s.start, endSec: s.end, text: s.text.trim() })) ?? [{ startSec: 0, endSec: duration ?? 0, text: response.text }];
        return { text: response.text, segments, durationSec: duration, provider, model, usage: { requests: 1, audioSeconds: duration ?? 0 } };
      } catch (err) {
        throw classifyOpenAiError(provider, err);
      }
    },
  };
}

export function createOpenAiImages(opts: OpenAiOptions | AzureOpenAiOptions): ImageGenerator {
  const { client, provider, model: defaultModel } = openAiClient(opts);
  return {
    provider,
    defaultModel,
    async generate(request, signal) {
      const model = request.model ?? defaultModel;
      try {
        const response = await client.images.generate(
          {
            model,
            prompt: request.prompt,
            n: 1,
            size: (IMAGE_SIZES[request.aspectRatio ?? '1:1'] ?? '1024x1024') as '1024x1024',
            // gpt-image models always answer base64; dall-e models must be asked to.
            ...(model.startsWith('dall-e') ? { response_format: 'b64_json' as const } : {}),
          },
          { signal },
        );
        const b64 = response.data?.[0]?.b64_json;
        if (!b64) throw new NonRetriableError(`${provider} answered without an image`);
        return { image: Buffer.from(b64, 'base64'), contentType: 'image/png', provider, model, usage: { requests: 1, images: 1 } };
      } catch (err) {
        throw classifyOpenAiError(provider, err);
      }
    },
  };
}
