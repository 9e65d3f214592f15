/** Text generation through the official `@anthropic-ai/sdk` (Messages API); ANTHROPIC_BASE_URL overrides the endpoint. */
import Anthropic from '@anthropic-ai/sdk';
import { NonRetriableError } from '../errors';
import { budgetPauseMs, contentBlocked, providerHttpError, providerUnreachable } from './providerError';
import type { TextGenerator, TextRequest, TextResult } from './types';

export interface AnthropicOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  /** Client timeout per request (default 120 s). */
  timeoutMs?: number;
}

// The Messages API requires max_tokens; enough for a long paragraph, overridable per request.
const DEFAULT_MAX_TOKENS = 4096;

export function createAnthropicText(opts: AnthropicOptions): TextGenerator {
  const client = new Anthropic({ apiKey: opts.apiKey, baseURL: opts.baseUrl, maxRetries: 0, timeout: opts.timeoutMs ?? 120_000 });
  return {
    provider: 'anthropic',
    defaultModel: opts.model,
    async generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult> {
      const model = request.model ?? opts.model;
      try {
        const { data: message, response } = await client.messages
          .create(
          {
            model,
            max_tokens: request.maxOutputTokens ?? DEFAULT_MAX_TOKENS,
            messages: [{ role: 'user', content: request.prompt }],
            ...(request.temperature !== undefined ? { temperature: Math.min(1, request.temperature) } : {}),
          },
          { signal },
        )
          .withResponse();
        const pauseMs = budgetPauseMs(response.headers);
        if (message.stop_reason === 'refusal') throw contentBlocked('anthropic', 'refusal');
        const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        return {
          text,
          provider: 'anthropic',
          model: message.model || model,
          usage: { requests: 1, inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens },
          ...(pauseMs ? { rateLimitHint: { pauseMs } } : {}),
        };
      } catch (err) {
        if (err instanceof NonRetriableError || err instanceof Anthropic.APIUserAbortError) throw err;
        if (err instanceof Anthropic.APIConnectionError) throw providerUnreachable('anthropic', err);
        if (err instanceof Anthropic.APIError && err.status !== undefined) throw providerHttpError('anthropic', err.status, err.message, err.headers);
        if (err instanceof SyntaxError || err instanceof TypeError) throw new NonRetriableError(`anthropic sent an unreadable answer: ${err.message}`);
        throw err;
      }
    },
  };
}
