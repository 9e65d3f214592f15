/**
 * OpenAI and Azure OpenAI through the official `openai` SDK (`OpenAI`, `AzureOpenAI`). OPENAI_BASE_URL points the
 * OpenAI client at any compatible server (Ollama, LM Studio, a test's wire fake); Azure uses deployments under
 * AZURE_OPENAI_ENDPOINT with the `api-key` header. The SDK's own retries are off: Durable retries and the shared
 * rate limiter decide, from the class of the error thrown here.
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { NonRetriableError } from '../errors';
import { budgetPauseMs, contentBlocked, providerHttpError, providerUnreachable } from './providerError';
import type { TextGenerator, TextRequest, TextResult } from './types';

export interface OpenAiOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  /** Client timeout per request (default 120 s). */
  timeoutMs?: number;
}

export interface AzureOpenAiOptions {
  endpoint: string;
  apiKey: string;
  apiVersion: string;
  /** Deployment name: Azure routes by deployment, not by model. */
  deployment: string;
  timeoutMs?: number;
}

const TIMEOUT_MS = 120_000;

/** The SDK client: OpenAI (or compatible) when given OpenAiOptions, Azure OpenAI (one deployment) otherwise. */
export function openAiClient(opts: OpenAiOptions | AzureOpenAiOptions): { client: OpenAI; provider: 'openai' | 'azure-openai'; model: string } {
  if ('deployment' in opts) {
    const client = new AzureOpenAI({ endpoint: opts.endpoint, apiKey: opts.apiKey, apiVersion: opts.apiVersion, deployment: opts.deployment, maxRetries: 0, timeout: opts.timeoutMs ?? TIMEOUT_MS });
    return { client, provider: 'azure-openai', model: opts.deployment };
  }
  return { client: new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseUrl, maxRetries: 0, timeout: opts.timeoutMs ?? TIMEOUT_MS }), provider: 'openai', model: opts.model };
}

export function createOpenAiText(opts: OpenAiOptions): TextGenerator {
  const { client, provider, model } = openAiClient(opts);
  return chatText(provider, client, model);
}

export function createAzureOpenAiText(opts: AzureOpenAiOptions): TextGenerator {
  const { client, provider, model } = openAiClient(opts);
  return chatText(provider, client, model);
}

function chatText(provider: string, client: OpenAI, defaultModel: string): TextGenerator {
  return {
    provider,
    defaultModel,
    async generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult> {
      const model = request.model ?? defaultModel;
      try {
        const { data: completion, response } = await client.chat.completions
          .create(
          {
            model,
            messages: [{ role: 'user', content: request.prompt }],
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            ...(request.maxOutputTokens !== undefined ? { max_completion_tokens: request.maxOutputTokens } : {}),
            // JSON mode (not strict json_schema, which rejects common schema features): the caller validates.
            ...(request.responseSchema ? { response_format: { type: 'json_object' as const } } : {}),
          },
          { signal },
        )
          .withResponse();
        const pauseMs = budgetPauseMs(response.headers);
        const choice = completion.choices?.[0];
        if (!choice) throw new NonRetriableError(`${provider} answered without a choice`);
        if (choice.finish_reason === 'content_filter') throw contentBlocked(provider, 'content filter');
        return {
          text: choice.message.content ?? '',
          provider,
          model: completion.model || model,
          usage: { requests: 1, inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 },
          ...(pauseMs ? { rateLimitHint: { pauseMs } } : {}),
        };
      } catch (err) {
        throw classifyOpenAiError(provider, err);
      }
    },
  };
}

/** Maps the SDK's errors (which carry status and headers) onto the shared classification. */
export function classifyOpenAiError(provider: string, err: unknown): Error {
  if (err instanceof NonRetriableError) return err;
  if (err instanceof OpenAI.APIUserAbortError) return err;
  if (err instanceof OpenAI.APIConnectionError) return providerUnreachable(provider, err);
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    const policy = (err.error as { code?: string } | undefined)?.code === 'content_filter' || err.code === 'content_filter';
    if (policy) return contentBlocked(provider, 'content filter');
    return providerHttpError(provider, err.status, (err.error as { message?: string } | undefined)?.message ?? err.message, err.headers);
  }
  // A body the SDK could not parse, or a TypeError on a malformed answer: the same request will not do better.
  if (err instanceof SyntaxError || err instanceof TypeError) return new NonRetriableError(`${provider} sent an unreadable answer: ${err.message}`);
  return err as Error;
}
