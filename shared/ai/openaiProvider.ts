/**
 * Text generation through the official `openai` SDK (chat completions). OPENAI_BASE_URL points it at any
 * OpenAI-compatible server (Ollama, LM Studio, a test's wire fake). The SDK's own retries are off: Durable retries
 * decide, using the class of the error thrown here.
 */
import OpenAI from 'openai';
import { NonRetriableError, RetryAfterError } from '../errors';
import type { TextGenerator, TextRequest, TextResult } from './types';

export interface OpenAiOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
}

export function createOpenAiText(opts: OpenAiOptions): TextGenerator {
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseUrl, maxRetries: 0, timeout: 120_000 });
  return {
    provider: 'openai',
    async generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult> {
      const model = request.model ?? opts.model;
      try {
        const completion = await client.chat.completions.create(
          {
            model,
            messages: [{ role: 'user', content: request.prompt }],
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            ...(request.maxOutputTokens !== undefined ? { max_completion_tokens: request.maxOutputTokens } : {}),
          },
          { signal },
        );
        const choice = completion.choices[0];
        if (choice?.finish_reason === 'content_filter') throw new NonRetriableError('the provider blocked this prompt (content policy)');
        return {
          text: choice?.message.content ?? '',
          provider: 'openai',
          model: completion.model || model,
          usage: { requests: 1, inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 },
        };
      } catch (err) {
        throw classifyOpenAiError(err);
      }
    },
  };
}

/** 429, 5xx, timeouts and connection errors are worth retrying; other 4xx are not (the same request fails again). */
export function classifyOpenAiError(err: unknown): Error {
  if (err instanceof NonRetriableError) return err;
  if (err instanceof OpenAI.APIConnectionError) return new RetryAfterError(`provider unreachable: ${err.message}`, 1000);
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    const retryAfter = Number(err.headers?.get?.('retry-after') ?? NaN);
    if (status === 429 || status >= 500) return new RetryAfterError(`provider answered ${status}: ${err.message}`, Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000);
    return new NonRetriableError(`provider rejected the request (${status}): ${err.message}`);
  }
  return err as Error;
}
