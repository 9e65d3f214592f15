/** Picks each capability's provider from configuration: AI_PROVIDER=auto uses a configured key, else the offline model. */
import type { AppConfig } from '../config';
import { ConfigError } from '../config';
import { createLocalText } from './localProvider';
import { createOpenAiText } from './openaiProvider';
import type { AiServices } from './types';

export function createAi(config: AppConfig): AiServices {
  const { provider, openai } = config.ai;
  const chosen = provider === 'auto' ? (openai.apiKey ? 'openai' : 'local') : provider;
  switch (chosen) {
    case 'local':
      return { text: createLocalText() };
    case 'openai':
      if (!openai.apiKey) throw new ConfigError('Setting OPENAI_API_KEY is missing: AI_PROVIDER=openai needs it');
      return { text: createOpenAiText({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, model: openai.model }) };
    default:
      throw new ConfigError(`Setting AI_PROVIDER is invalid: provider "${chosen}" arrives with the providers issue; use auto, local or openai`);
  }
}
