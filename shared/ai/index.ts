/**
 * Picks each capability's provider from configuration and puts every provider behind the shared rate limiter.
 * AI_PROVIDER=auto uses the first provider with a key (Gemini, OpenAI, Azure OpenAI, Anthropic) for text; a capability
 * the chosen provider lacks (Anthropic has no embeddings, Gemini no transcription) comes from the next configured
 * provider that has it, and from the offline `local` model when none does.
 */
import type { AppConfig, ProviderSettings } from '../config';
import { ConfigError } from '../config';
import type { Queryable } from '../db';
import { createAnthropicText } from './anthropicProvider';
import { createGeminiEmbedder, createGeminiImages, createGeminiText } from './geminiProvider';
import { createLocalEmbedder, createLocalImages, createLocalText, createLocalTranscriber } from './localProvider';
import { createOpenAiEmbedder, createOpenAiImages, createOpenAiTranscriber } from './openaiMedia';
import { createAzureOpenAiText, createOpenAiText, type AzureOpenAiOptions, type OpenAiOptions } from './openaiProvider';
import { withFailover } from './failover';
import { createPgLimiter, limitServices, Semaphore, type RateLimit } from './rateLimiter';
import type { AiServices } from './types';

export type ProviderName = 'local' | 'gemini' | 'openai' | 'azure-openai' | 'anthropic';
type Capability = keyof AiServices;

const AUTO_ORDER: Exclude<ProviderName, 'local'>[] = ['gemini', 'openai', 'azure-openai', 'anthropic'];

function settingsOf(config: AppConfig, name: Exclude<ProviderName, 'local'>): ProviderSettings & { baseUrl?: string; endpoint?: string; apiVersion?: string } {
  const { ai } = config;
  return name === 'gemini' ? ai.gemini : name === 'openai' ? ai.openai : name === 'azure-openai' ? ai.azureOpenai : ai.anthropic;
}

function configured(config: AppConfig, name: Exclude<ProviderName, 'local'>): boolean {
  const s = settingsOf(config, name);
  return !!s.apiKey && (name !== 'azure-openai' || !!s.endpoint);
}

/** The provider AI_PROVIDER selects for text; `auto` takes the first one configured. */
export function chooseProvider(config: AppConfig): ProviderName {
  if (config.ai.provider !== 'auto') return config.ai.provider;
  return AUTO_ORDER.find((name) => configured(config, name)) ?? 'local';
}

/** One provider's capabilities (only those it has and is set up for), unlimited. */
function providerCapabilities(config: AppConfig, name: Exclude<ProviderName, 'local'>): Partial<AiServices> {
  const s = settingsOf(config, name);
  const apiKey = s.apiKey!;
  if (name === 'anthropic') return { text: createAnthropicText({ apiKey, baseUrl: s.baseUrl, model: s.model! }) };
  if (name === 'gemini') {
    const gemini = (model: string) => ({ apiKey, baseUrl: s.baseUrl, model });
    return { text: createGeminiText(gemini(s.model!)), embeddings: createGeminiEmbedder(gemini(s.embeddingModel!)), images: createGeminiImages(gemini(s.imageModel!)) };
  }
  const options = (model: string | undefined): OpenAiOptions | AzureOpenAiOptions | undefined =>
    model === undefined
      ? undefined
      : name === 'azure-openai'
        ? { apiKey, endpoint: s.endpoint!, apiVersion: s.apiVersion!, deployment: model }
        : { apiKey, baseUrl: s.baseUrl, model };
  const text = options(s.model);
  const embed = options(s.embeddingModel);
  const transcribe = options(s.transcribeModel);
  const image = options(s.imageModel);
  return {
    ...(text ? { text: name === 'azure-openai' ? createAzureOpenAiText(text as AzureOpenAiOptions) : createOpenAiText(text as OpenAiOptions) } : {}),
    ...(embed ? { embeddings: createOpenAiEmbedder(embed) } : {}),
    ...(transcribe ? { transcription: createOpenAiTranscriber(transcribe) } : {}),
    ...(image ? { images: createOpenAiImages(image) } : {}),
  };
}

function localServices(): AiServices {
  const text = createLocalText();
  return { text, analysis: text, embeddings: createLocalEmbedder(), transcription: createLocalTranscriber(), images: createLocalImages() };
}

// Failover after 3 transient failures in a row; the primary gets another chance after a minute.
const FAILOVER = { threshold: 3, coolDownMs: 60_000 };

/** The AI services of this process (with AI_FAILOVER_PROVIDER behind the primary); `db` holds the limiter's state. */
export function createAi(config: AppConfig, db: Queryable): AiServices {
  // One cap on calls in flight for the whole instance (WORKER_CONCURRENCY), whichever provider serves them.
  const inFlight = new Semaphore(config.engine.workerConcurrency);
  const primary = buildServices(config, db, chooseProvider(config), inFlight);
  const failover = config.ai.failover;
  if (!failover || failover === chooseProvider(config)) return primary;
  return withFailover(primary, buildServices(config, db, failover, inFlight), FAILOVER);
}

function buildServices(config: AppConfig, db: Queryable, chosen: ProviderName, inFlight: Semaphore): AiServices {
  const local = localServices();
  if (chosen !== 'local' && !configured(config, chosen)) {
    throw new ConfigError(`Setting ${chosen === 'azure-openai' ? 'AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT are' : `${chosen.toUpperCase()}_API_KEY is`} missing: AI_PROVIDER=${chosen} needs it`);
  }
  const limiter = createPgLimiter(db);
  // Capabilities the chosen provider lacks come from the other configured ones (not when it is the failover itself);
  // analysis prefers Anthropic whenever it is configured.
  const order = chosen === 'local' ? [] : [chosen, ...AUTO_ORDER.filter((n) => n !== chosen && n !== config.ai.failover && configured(config, n))];
  const bundles = order.map((name) => {
    const s = settingsOf(config, name);
    const limitFor = (model: string): RateLimit => config.ai.limits[`${name}:${model}`] ?? { rpm: s.rpm, tpm: s.tpm };
    const own = providerCapabilities(config, name);
    const limited = limitServices({ ...local, ...own }, { limiter, limitFor, apiKey: s.apiKey!, maxWaitMs: config.ai.maxLimiterWaitMs, inFlight });
    return { own, limited };
  });
  const pick = <C extends Capability>(capability: C): AiServices[C] => {
    const bundle = bundles.find((b) => b.own[capability]);
    return bundle ? bundle.limited[capability] : local[capability];
  };
  if (chosen !== 'local' && !bundles[0]?.own.text) throw new ConfigError(`Setting ${chosen === 'azure-openai' ? 'AZURE_OPENAI_TEXT_DEPLOYMENT' : 'AI model'} is missing: AI_PROVIDER=${chosen} needs a text model`);
  const text = pick('text');
  const anthropic = bundles.find((b) => b.own.text?.provider === 'anthropic');
  return { text, analysis: anthropic ? anthropic.limited.text : text, embeddings: pick('embeddings'), transcription: pick('transcription'), images: pick('images') };
}
