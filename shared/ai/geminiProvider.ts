/**
 * Gemini through `@google/genai`, the maintained successor of the deprecated `@google/generative-ai` (its support
 * ended 2025-08-31). GEMINI_BASE_URL overrides the endpoint (tests point it at a wire fake).
 */
import { ApiError, FinishReason, GoogleGenAI } from '@google/genai';
import { NonRetriableError } from '../errors';
import { contentBlocked, providerHttpError, providerUnreachable } from './providerError';
import type { TextGenerator, TextRequest, TextResult } from './types';

export interface GeminiOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  /** Client timeout per request (default 120 s). */
  timeoutMs?: number;
}

const BLOCKED: readonly string[] = [FinishReason.SAFETY, FinishReason.PROHIBITED_CONTENT, FinishReason.BLOCKLIST, FinishReason.SPII, FinishReason.RECITATION];

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
  const client = new GoogleGenAI({ apiKey: opts.apiKey, httpOptions: { ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}), timeout: opts.timeoutMs ?? 120_000 } });
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
        if (err instanceof NonRetriableError) throw err;
        if (err instanceof ApiError) throw providerHttpError('gemini', err.status, err.message, retryInfoHeaders(err.message));
        if (err instanceof SyntaxError) throw new NonRetriableError(`gemini sent an unreadable answer: ${err.message}`);
        // The caller's own abort passes through; the SDK's timeout (also an AbortError) is a transient failure.
        if (signal?.aborted) throw err;
        throw providerUnreachable('gemini', err);
      }
    },
  };
}
