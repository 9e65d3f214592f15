/**
 * Gemini through `@google/genai`, the maintained successor of the deprecated `@google/generative-ai` (its support
 * ended 2025-08-31). GEMINI_BASE_URL overrides the endpoint (tests point it at a wire fake).
 */
import { ApiError, FinishReason, GoogleGenAI } from '@google/genai';
import { NonRetriableError } from '../errors';
import { contentBlocked, providerHttpError, providerUnreachable } from './providerError';
import { estimateTokens } from './localProvider';
import type { Embedder, ImageGenerator, TextGenerator, TextRequest, TextResult } from './types';

export interface GeminiOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  /** Client timeout per request (default 120 s). */
  timeoutMs?: number;
}

const BLOCKED: readonly string[] = [
  FinishReason.SAFETY,
  FinishReason.PROHIBITED_CONTENT,
  FinishReason.BLOCKLIST,
  FinishReason.SPII,
  FinishReason.RECITATION,
  FinishReason.IMAGE_SAFETY,
  FinishReason.IMAGE_PROHIBITED_CONTENT,
];

/**
 * Gemini states its back-off in the error body (google.rpc.RetryInfo `retryDelay: "12s"`), which the SDK passes on
 * only as the error message's JSON; read it as a Retry-After so the shared classification applies.
 */
function retryInfoHeaders(message: string): { get(name: string): string | null } | undefined {
  const start = message.indexOf('{');
  if (start < 0) return undefined;
  try {
    const body = JSON.parse(message.slice(start)) as { error?: { details?: { retryDelay?: string }[] } };
    const delay = body.error?.details?.find((d) => typeof d.retryDelay === 'string')?.retryDelay;
    const seconds = delay ? Number.parseFloat(delay) : NaN;
    return Number.isFinite(seconds) ? { get: (name) => (name === 'retry-after' ? String(seconds) : null) } : undefined;
  } catch {
    return undefined;
  }
}

export function createGeminiText(opts: GeminiOptions): TextGenerator {
  const client = geminiClient(opts);
  return {
    provider: 'gemini',
    defaultModel: opts.model,
    async generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult> {
      const model = request.model ?? opts.model;
      try {
        const response = await client.models.generateContent({
          model,
          contents: request.prompt,
          config: {
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
            ...(request.responseSchema ? { responseMimeType: 'application/json', responseJsonSchema: request.responseSchema } : {}),
            ...(signal ? { abortSignal: signal } : {}),
          },
        });
        if (response.promptFeedback?.blockReason) throw contentBlocked('gemini', String(response.promptFeedback.blockReason));
        const candidate = response.candidates?.[0];
        if (candidate?.finishReason && BLOCKED.includes(candidate.finishReason)) throw contentBlocked('gemini', candidate.finishReason);
        if (!candidate) throw new NonRetriableError('gemini answered without a candidate');
        return {
          text: response.text ?? '',
          provider: 'gemini',
          model: response.modelVersion ?? model,
          usage: { requests: 1, inputTokens: response.usageMetadata?.promptTokenCount ?? 0, outputTokens: response.usageMetadata?.candidatesTokenCount ?? 0 },
        };
      } catch (err) {
        throw classifyGeminiError(err, signal);
      }
    },
  };
}

function classifyGeminiError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof NonRetriableError) return err;
  if (err instanceof ApiError) return providerHttpError('gemini', err.status, err.message, retryInfoHeaders(err.message));
  if (err instanceof SyntaxError) return new NonRetriableError(`gemini sent an unreadable answer: ${err.message}`);
  // The caller's own abort passes through; the SDK's timeout (also an AbortError) is a transient failure.
  if (signal?.aborted) return err;
  return providerUnreachable('gemini', err);
}

function geminiClient(opts: GeminiOptions): GoogleGenAI {
  return new GoogleGenAI({ apiKey: opts.apiKey, httpOptions: { ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}), timeout: opts.timeoutMs ?? 120_000 } });
}

// batchEmbedContents takes at most 100 texts per call; inputs are capped at 2,048 tokens each.
const GEMINI_EMBEDDING_LIMITS = { inputsPerRequest: 100, tokensPerRequest: 204_800, tokensPerInput: 2048 };

export function createGeminiEmbedder(opts: GeminiOptions): Embedder {
  const client = geminiClient(opts);
  return {
    provider: 'gemini',
    defaultModel: opts.model,
    limits: GEMINI_EMBEDDING_LIMITS,
    async embed(request, signal) {
      const model = request.model ?? opts.model;
      try {
        const response = await client.models.embedContent({ model, contents: request.texts, config: signal ? { abortSignal: signal } : {} });
        const vectors = (response.embeddings ?? []).map((e) => e.values ?? []);
        if (vectors.length !== request.texts.length) throw new NonRetriableError(`gemini returned ${vectors.length} embeddings for ${request.texts.length} texts`);
        // The Gemini API does not report embedding tokens: estimate them as billed (about four characters each).
        return { vectors, provider: 'gemini', model, usage: { requests: 1, inputTokens: request.texts.reduce((n, t) => n + estimateTokens(t), 0) } };
      } catch (err) {
        throw classifyGeminiError(err, signal);
      }
    },
  };
}

export function createGeminiImages(opts: GeminiOptions): ImageGenerator {
  const client = geminiClient(opts);
  return {
    provider: 'gemini',
    defaultModel: opts.model,
    async generate(request, signal) {
      const model = request.model ?? opts.model;
      try {
        const response = await client.models.generateContent({
          model,
          contents: request.prompt,
          config: { responseModalities: ['IMAGE'], ...(request.aspectRatio ? { imageConfig: { aspectRatio: request.aspectRatio } } : {}), ...(signal ? { abortSignal: signal } : {}) },
        });
        if (response.promptFeedback?.blockReason) throw contentBlocked('gemini', String(response.promptFeedback.blockReason));
        const candidate = response.candidates?.[0];
        if (candidate?.finishReason && BLOCKED.includes(candidate.finishReason)) throw contentBlocked('gemini', candidate.finishReason);
        const part = candidate?.content?.parts?.find((p) => p.inlineData?.data);
        if (!part?.inlineData?.data) throw new NonRetriableError('gemini answered without an image');
        return { image: Buffer.from(part.inlineData.data, 'base64'), contentType: part.inlineData.mimeType ?? 'image/png', provider: 'gemini', model, usage: { requests: 1, images: 1 } };
      } catch (err) {
        throw classifyGeminiError(err, signal);
      }
    },
  };
}
