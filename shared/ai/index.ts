/**
 * Picks each capability's provider from configuration and wraps it in the shared rate limiter. AI_PROVIDER=auto
 * uses the first provider with a key (Gemini, OpenAI, Azure OpenAI, Anthropic), else the offline `local` model.
 */
import type { AppConfig, ProviderSettings } from '../config';
import { ConfigError } from '../config';
import type { Queryable } from '../db';
import { createAnthropicText } from './anthropicProvider';
import { createGeminiText } from './geminiProvider';
import { createLocalText } from './localProvider';
import { createAzureOpenAiText, createOpenAiText } from './openaiProvider';
import { createPgLimiter, limitText, Semaphore, type RateLimit } from './rateLimiter';
import type { AiServices, TextGenerator } from './types';

type ProviderName = 'local' | 'gemini' | 'openai' | 'azure-openai' | 'anthropic';

/** The provider AI_PROVIDER selects; `auto` takes the first one configured. */
export function chooseProvider(config: AppConfig): ProviderName {
  const { ai } = config;
  if (ai.provider !== 'auto') return ai.provider;
  if (ai.gemini.apiKey) return 'gemini';
  if (ai.openai.apiKey) return 'openai';
  if (ai.azureOpenai.apiKey && ai.azureOpenai.endpoint) return 'azure-openai';
  if (ai.anthropic.apiKey) return 'anthropic';
  return 'local';
}

function required<T>(value: T | undefined, setting: string, provider: string): T {
  if (value === undefined) throw new ConfigError(`Setting ${setting} is missing: AI_PROVIDER=${provider} needs it`);
  return value;
}

function textProvider(config: AppConfig, name: Exclude<ProviderName, 'local'>): { text: TextGenerator; settings: ProviderSettings; apiKey: string } {
  const { ai } = config;
  switch (name) {
    case 'gemini': {
      const apiKey = required(ai.gemini.apiKey, 'GEMINI_API_KEY', name);
      return { text: createGeminiText({ apiKey, baseUrl: ai.gemini.baseUrl, model: ai.gemini.model! }), settings: ai.gemini, apiKey };
    }
    case 'openai': {
      const apiKey = required(ai.openai.apiKey, 'OPENAI_API_KEY', name);
      return { text: createOpenAiText({ apiKey, baseUrl: ai.openai.baseUrl, model: ai.openai.model! }), settings: ai.openai, apiKey };
    }
    case 'azure-openai': {
      const apiKey = required(ai.azureOpenai.apiKey, 'AZURE_OPENAI_API_KEY', name);
      const endpoint = required(ai.azureOpenai.endpoint, 'AZURE_OPENAI_ENDPOINT', name);
      const deployment = required(ai.azureOpenai.model, 'AZURE_OPENAI_TEXT_DEPLOYMENT', name);
      return { text: createAzureOpenAiText({ apiKey, endpoint, apiVersion: ai.azureOpenai.apiVersion, deployment }), settings: ai.azureOpenai, apiKey };
    }
    case 'anthropic': {
      const apiKey = required(ai.anthropic.apiKey, 'ANTHROPIC_API_KEY', name);
      return { text: createAnthropicText({ apiKey, baseUrl: ai.anthropic.baseUrl, model: ai.anthropic.model! }), settings: ai.anthropic, apiKey };
    }
  }
}

/** The AI services of this process; `db` holds the shared limiter's state. */
export function createAi(config: AppConfig, db: Queryable): AiServices {
  const name = chooseProvider(config);
  if (name === 'local') return { text: createLocalText() };
  const { text, settings, apiKey } = textProvider(config, name);
  const limitFor = (model: string): RateLimit => config.ai.limits[`${name}:${model}`] ?? { rpm: settings.rpm, tpm: settings.tpm };
  return {
    text: limitText(text, {
      limiter: createPgLimiter(db),
      limitFor,
      apiKey,
      maxWaitMs: config.ai.maxLimiterWaitMs,
      inFlight: new Semaphore(config.engine.workerConcurrency),
    }),
  };
}
