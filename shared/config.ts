/**
 * App configuration, read from the environment and validated once (pg-boss attorney style: the error names the
 * setting). Nothing reads process.env elsewhere in functions/ or shared/.
 */
import { z } from 'zod';
import type { StorageConnection } from './storage/storageConnection';


const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  DATABASE_URL: z.string().url().optional(),
  AzureWebJobsStorage: z.string().min(1).optional(),
  // Identity-based connection (what infra/ sets): the Functions host's own setting names for it.
  AzureWebJobsStorage__blobServiceUri: z.string().url().optional(),
  AzureWebJobsStorage__queueServiceUri: z.string().url().optional(),
  AzureWebJobsStorage__accountName: z.string().regex(/^[a-z0-9]{3,24}$/, 'a storage account name (3-24 lowercase letters and digits)').optional(),
  AzureWebJobsStorage__credential: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.literal('managedidentity', 'managedidentity (or leave it unset for the default credential chain)'))
    .optional(),
  AzureWebJobsStorage__clientId: z.string().min(1).optional(),
  // Azure's queue name rules (3-63 characters, lowercase letters, digits and single dashes, a letter or digit at each
  // end), kept to 56 so that the poison queue the host derives, `<name>-poison`, fits them too.
  JOBS_QUEUE_NAME: z
    .string()
    .regex(/^(?!.*--)[a-z0-9][a-z0-9-]{1,54}[a-z0-9]$/, 'a storage queue name of 3-56 lowercase letters, digits and single dashes, starting and ending with a letter or digit (its poison queue "<name>-poison" must fit 63)')
    .default('jobs'),
  SUPABASE_URL: z.string().url().optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_JWT_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  SUPABASE_JWKS_URL: z.string().url().optional(),
  // The `iss` user tokens must carry; Supabase Auth writes <SUPABASE_URL>/auth/v1, the default when SUPABASE_URL is set.
  SUPABASE_JWT_ISSUER: z.string().min(1).optional(),
  SUPABASE_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  ADMIN_API_KEY: z.string().min(16, 'at least 16 characters').optional(),
  AI_PROVIDER: z.enum(['auto', 'local', 'gemini', 'openai', 'azure-openai', 'anthropic']).default('auto'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_EMBEDDING_MODEL: z.string().min(1).default('text-embedding-3-small'),
  OPENAI_TRANSCRIBE_MODEL: z.string().min(1).default('whisper-1'),
  OPENAI_IMAGE_MODEL: z.string().min(1).default('gpt-image-1'),
  OPENAI_RPM: positiveInt(500),
  OPENAI_TPM: z.coerce.number().int().min(0).default(0),
  GEMINI_API_KEY: z.string().min(1).optional(),
  GEMINI_BASE_URL: z.string().url().optional(),
  GEMINI_MODEL: z.string().min(1).default('gemini-2.5-flash'),
  GEMINI_EMBEDDING_MODEL: z.string().min(1).default('gemini-embedding-001'),
  GEMINI_IMAGE_MODEL: z.string().min(1).default('gemini-2.5-flash-image'),
  // The seed's image worker ran at 60 requests per minute; the same default keeps a free-tier key out of 429s.
  GEMINI_RPM: positiveInt(60),
  GEMINI_TPM: z.coerce.number().int().min(0).default(0),
  AZURE_OPENAI_ENDPOINT: z.string().url().optional(),
  AZURE_OPENAI_API_KEY: z.string().min(1).optional(),
  AZURE_OPENAI_API_VERSION: z.string().min(1).default('2024-10-21'),
  AZURE_OPENAI_TEXT_DEPLOYMENT: z.string().min(1).optional(),
  AZURE_OPENAI_EMBEDDING_DEPLOYMENT: z.string().min(1).optional(),
  AZURE_OPENAI_TRANSCRIBE_DEPLOYMENT: z.string().min(1).optional(),
  AZURE_OPENAI_IMAGE_DEPLOYMENT: z.string().min(1).optional(),
  AZURE_OPENAI_RPM: positiveInt(60),
  AZURE_OPENAI_TPM: z.coerce.number().int().min(0).default(0),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  ANTHROPIC_MODEL: z.string().min(1).default('claude-sonnet-4-5'),
  ANTHROPIC_RPM: positiveInt(50),
  ANTHROPIC_TPM: z.coerce.number().int().min(0).default(0),
  AI_RATE_LIMITS: z
    .string()
    .transform((text, ctx) => {
      try {
        return z.record(z.string(), z.object({ rpm: z.number().int().positive(), tpm: z.number().int().min(0).optional() })).parse(JSON.parse(text));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'JSON like {"gemini:gemini-2.5-flash": {"rpm": 1000, "tpm": 1000000}}' });
        return z.NEVER;
      }
    })
    .optional(),
  AI_MAX_LIMITER_WAIT_SECONDS: positiveInt(10),
  RAG_EMBEDDING_CHAR_LIMIT: positiveInt(1200),
  // An upper bound only: batches are sized by the embedding provider's real caps (inputs and tokens per request).
  RAG_EMBEDDING_BATCH: positiveInt(2048),
  RAG_ENABLE_CLAUDE_ANALYSIS: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  RAG_CLAUDE_CONCURRENCY: positiveInt(3),
  MAX_FILE_SIZE_MB: positiveInt(500),
  // The largest legitimate bodies are job inputs: a 200,000-node workflow of short prompts is ~14 MB of JSON, a
  // rag_ingestion of 10,000 one-paragraph segments ~11 MB. The Functions host itself stops at 100 MB.
  MAX_REQUEST_BODY_MB: positiveInt(32),
  RECORDING_SEGMENT_SECONDS: positiveInt(600),
  RECORDING_ALLOW_PRIVATE_URLS: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  IMAGE_CONTAINER: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/, 'a blob container name (3-63 lowercase letters, digits, dashes)').default('longhaul-images'),
  IMAGE_URL_TTL_HOURS: positiveInt(168),
  IMAGE_STORAGE: z.enum(['blob', 'supabase']).default('blob'),
  AI_CACHE: z.enum(['job', 'global', 'off']).default('job'),
  AI_FAILOVER_PROVIDER: z.enum(['local', 'gemini', 'openai', 'azure-openai', 'anthropic']).optional(),
  WORKER_CONCURRENCY: positiveInt(8),
  JOB_CHUNK_CONCURRENCY: positiveInt(16),
  JOB_CHUNK_TIME_BUDGET_SECONDS: positiveInt(240),
  JOB_CHUNK_MAX_ATTEMPTS: positiveInt(3),
  JOB_CHUNK_MAX_CRASHES: positiveInt(5),
  SWEEPER_REDELIVER_AFTER_SECONDS: positiveInt(20),
  SWEEPER_STUCK_AFTER_SECONDS: positiveInt(120),
  HISTORY_RETENTION_DAYS: positiveInt(7),
  NOTIFY_WEBHOOK_URL: z.string().url().optional(),
  // Fractions allowed (0.05 = 3 s) so a test can cross the threshold; 0 turns long-running notices off.
  NOTIFY_LONG_RUNNING_MINUTES: z.coerce.number().min(0).default(60),
  NOTIFY_TIMEOUT_MS: positiveInt(3000),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().min(1).optional(),
  OTEL_TRACES_EXPORTER: z.enum(['console', 'none']).default('none'),
  OTEL_METRICS_EXPORTER: z.enum(['console', 'none']).default('none'),
  OTEL_METRIC_EXPORT_INTERVAL: positiveInt(60_000),
  OTEL_SERVICE_NAME: z.string().min(1).default('longhaul'),
});

const telemetrySchema = schema.pick({
  APPLICATIONINSIGHTS_CONNECTION_STRING: true,
  OTEL_TRACES_EXPORTER: true,
  OTEL_METRICS_EXPORTER: true,
  OTEL_METRIC_EXPORT_INTERVAL: true,
  OTEL_SERVICE_NAME: true,
});

/** One provider's key, default model (a deployment on Azure) and shared limits. */
export interface ProviderSettings {
  apiKey?: string;
  /** Default model per capability (deployment names on Azure); absent: the provider lacks or is not set up for it. */
  model?: string;
  embeddingModel?: string;
  transcribeModel?: string;
  imageModel?: string;
  rpm: number;
  tpm: number;
}

/** Validated settings the app uses. */
export interface AppConfig {
  databaseUrl?: string;
  storage: StorageConnection | undefined;
  jobsQueueName: string;
  supabase: { url?: string; serviceRoleKey?: string; jwtSecret?: string; jwksUrl?: string; jwtIssuer?: string; webhookSecret?: string };
  adminApiKey?: string;
  ai: {
    provider: z.infer<typeof schema>['AI_PROVIDER'];
    openai: ProviderSettings & { baseUrl?: string };
    gemini: ProviderSettings & { baseUrl?: string };
    azureOpenai: ProviderSettings & { endpoint?: string; apiVersion: string };
    anthropic: ProviderSettings & { baseUrl?: string };
    /** Per "provider:model" overrides of the provider's limits. */
    limits: Record<string, { rpm: number; tpm?: number }>;
    maxLimiterWaitMs: number;
    cache: 'job' | 'global' | 'off';
    failover?: 'local' | 'gemini' | 'openai' | 'azure-openai' | 'anthropic';
  };
  files: { container: string; urlLifetimeMs: number; outputs: 'blob' | 'supabase' };
  /** Largest HTTP request body the API reads (413 payload_too_large beyond it). */
  http: { maxRequestBodyBytes: number };
  recordings: { maxBytes: number; segmentSec: number; allowPrivateUrls: boolean };
  rag: { charLimit: number; batchLimit: number; analysis: boolean; analysisConcurrency: number };
  engine: {
    workerConcurrency: number;
    chunkConcurrency: number;
    chunkTimeBudgetMs: number;
    chunkMaxAttempts: number;
    /** Crashes in a row without progress before a chunk is quarantined. */
    chunkMaxCrashes: number;
    redeliverAfterSeconds: number;
    stuckAfterSeconds: number;
    historyRetentionDays: number;
  };
  /** NOTIFY_WEBHOOK_URL and when to use it; absent url: notifications are off. */
  notify: { url?: string; longRunningMs: number; timeoutMs: number };
  telemetry: TelemetrySettings;
}

/** Which OpenTelemetry exporters the process uses (Azure Monitor when a connection string is set). */
export interface TelemetrySettings {
  connectionString?: string;
  traces: 'console' | 'none';
  metrics: 'console' | 'none';
  metricIntervalMs: number;
  serviceName: string;
}

function toTelemetry(v: z.infer<typeof telemetrySchema>): TelemetrySettings {
  return {
    connectionString: v.APPLICATIONINSIGHTS_CONNECTION_STRING,
    traces: v.OTEL_TRACES_EXPORTER,
    metrics: v.OTEL_METRICS_EXPORTER,
    metricIntervalMs: v.OTEL_METRIC_EXPORT_INTERVAL,
    serviceName: v.OTEL_SERVICE_NAME,
  };
}

/**
 * The telemetry settings alone: telemetry is set up while function files load, before the rest of the configuration
 * is needed, and a bad value elsewhere must not keep it from starting (or the reverse).
 */
export function parseTelemetrySettings(env: Record<string, string | undefined>): TelemetrySettings {
  const parsed = telemetrySchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Setting ${String(issue?.path[0])} is invalid: ${issue?.message}`);
  }
  return toTelemetry(parsed.data);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Setting ${String(issue?.path[0])} is invalid: ${issue?.message}`);
  }
  const v = parsed.data;
  // A connection string wins over identity settings, as it does for the Functions host.
  const account = v.AzureWebJobsStorage__accountName;
  const blobServiceUri = v.AzureWebJobsStorage__blobServiceUri ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  const queueServiceUri = v.AzureWebJobsStorage__queueServiceUri ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  const storage: StorageConnection | undefined = v.AzureWebJobsStorage
    ? { connectionString: v.AzureWebJobsStorage }
    : blobServiceUri || queueServiceUri
      ? { identity: { blobServiceUri, queueServiceUri, credential: v.AzureWebJobsStorage__credential, clientId: v.AzureWebJobsStorage__clientId } }
      : undefined;
  if (storage && 'identity' in storage && v.IMAGE_URL_TTL_HOURS > 168) {
    throw new ConfigError('Setting IMAGE_URL_TTL_HOURS is invalid: at most 168 with identity-based storage (URLs are signed with a user delegation key, which lasts at most 7 days)');
  }
  return {
    databaseUrl: v.DATABASE_URL,
    storage,
    jobsQueueName: v.JOBS_QUEUE_NAME,
    supabase: {
      url: v.SUPABASE_URL,
      serviceRoleKey: v.SUPABASE_SERVICE_ROLE_KEY,
      jwtSecret: v.SUPABASE_JWT_SECRET,
      jwksUrl: v.SUPABASE_JWKS_URL,
      jwtIssuer: v.SUPABASE_JWT_ISSUER ?? (v.SUPABASE_URL ? `${v.SUPABASE_URL.replace(/\/+$/, '')}/auth/v1` : undefined),
      webhookSecret: v.SUPABASE_WEBHOOK_SECRET,
    },
    adminApiKey: v.ADMIN_API_KEY,
    ai: {
      provider: v.AI_PROVIDER,
      openai: {
        apiKey: v.OPENAI_API_KEY,
        baseUrl: v.OPENAI_BASE_URL,
        model: v.OPENAI_MODEL,
        embeddingModel: v.OPENAI_EMBEDDING_MODEL,
        transcribeModel: v.OPENAI_TRANSCRIBE_MODEL,
        imageModel: v.OPENAI_IMAGE_MODEL,
        rpm: v.OPENAI_RPM,
        tpm: v.OPENAI_TPM,
      },
      gemini: {
        apiKey: v.GEMINI_API_KEY,
        baseUrl: v.GEMINI_BASE_URL,
        model: v.GEMINI_MODEL,
        embeddingModel: v.GEMINI_EMBEDDING_MODEL,
        imageModel: v.GEMINI_IMAGE_MODEL,
        rpm: v.GEMINI_RPM,
        tpm: v.GEMINI_TPM,
      },
      azureOpenai: {
        apiKey: v.AZURE_OPENAI_API_KEY,
        endpoint: v.AZURE_OPENAI_ENDPOINT,
        apiVersion: v.AZURE_OPENAI_API_VERSION,
        model: v.AZURE_OPENAI_TEXT_DEPLOYMENT,
        embeddingModel: v.AZURE_OPENAI_EMBEDDING_DEPLOYMENT,
        transcribeModel: v.AZURE_OPENAI_TRANSCRIBE_DEPLOYMENT,
        imageModel: v.AZURE_OPENAI_IMAGE_DEPLOYMENT,
        rpm: v.AZURE_OPENAI_RPM,
        tpm: v.AZURE_OPENAI_TPM,
      },
      anthropic: { apiKey: v.ANTHROPIC_API_KEY, baseUrl: v.ANTHROPIC_BASE_URL, model: v.ANTHROPIC_MODEL, rpm: v.ANTHROPIC_RPM, tpm: v.ANTHROPIC_TPM },
      limits: v.AI_RATE_LIMITS ?? {},
      maxLimiterWaitMs: v.AI_MAX_LIMITER_WAIT_SECONDS * 1000,
      cache: v.AI_CACHE,
      failover: v.AI_FAILOVER_PROVIDER,
    },
    recordings: { maxBytes: v.MAX_FILE_SIZE_MB * 1024 * 1024, segmentSec: v.RECORDING_SEGMENT_SECONDS, allowPrivateUrls: v.RECORDING_ALLOW_PRIVATE_URLS },
    files: { container: v.IMAGE_CONTAINER, urlLifetimeMs: v.IMAGE_URL_TTL_HOURS * 3_600_000, outputs: v.IMAGE_STORAGE },
    http: { maxRequestBodyBytes: v.MAX_REQUEST_BODY_MB * 1024 * 1024 },
    rag: { charLimit: v.RAG_EMBEDDING_CHAR_LIMIT, batchLimit: v.RAG_EMBEDDING_BATCH, analysis: v.RAG_ENABLE_CLAUDE_ANALYSIS, analysisConcurrency: v.RAG_CLAUDE_CONCURRENCY },
    engine: {
      workerConcurrency: v.WORKER_CONCURRENCY,
      chunkConcurrency: v.JOB_CHUNK_CONCURRENCY,
      chunkTimeBudgetMs: v.JOB_CHUNK_TIME_BUDGET_SECONDS * 1000,
      chunkMaxAttempts: v.JOB_CHUNK_MAX_ATTEMPTS,
      chunkMaxCrashes: v.JOB_CHUNK_MAX_CRASHES,
      redeliverAfterSeconds: v.SWEEPER_REDELIVER_AFTER_SECONDS,
      stuckAfterSeconds: v.SWEEPER_STUCK_AFTER_SECONDS,
      historyRetentionDays: v.HISTORY_RETENTION_DAYS,
    },
    notify: { url: v.NOTIFY_WEBHOOK_URL, longRunningMs: Math.round(v.NOTIFY_LONG_RUNNING_MINUTES * 60_000), timeoutMs: v.NOTIFY_TIMEOUT_MS },
    telemetry: toTelemetry(v),
  };
}

let cached: AppConfig | undefined;

/** The process-wide configuration, parsed on first use (never at import time). */
export function getConfig(): AppConfig {
  cached ??= parseConfig(process.env);
  return cached;
}

/** The database URL, or a clear error: every job function needs it. */
export function requireDatabaseUrl(config: AppConfig = getConfig()): string {
  if (!config.databaseUrl) throw new ConfigError('Setting DATABASE_URL is missing: the job functions need the Supabase Postgres URL');
  return config.databaseUrl;
}

/** Every setting name the app reads; local.settings.example.json must document each (checked by a test). */
export const SETTING_NAMES = Object.keys(schema.shape);
