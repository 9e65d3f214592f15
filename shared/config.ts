/**
 * App configuration, read from the environment and validated once (pg-boss attorney style: the error names the
 * setting). Nothing reads process.env elsewhere in functions/ or shared/.
 */
import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: z.string().url().optional(),
  AzureWebJobsStorage: z.string().min(1).optional(),
  AzureWebJobsStorage__queueServiceUri: z.string().url().optional(),
});

/** Validated settings the app uses. */
export interface AppConfig {
  databaseUrl?: string;
  storage: { connectionString: string } | { queueServiceUri: string } | undefined;
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
  const values = parsed.data;
  const storage = values.AzureWebJobsStorage
    ? { connectionString: values.AzureWebJobsStorage }
    : values.AzureWebJobsStorage__queueServiceUri
      ? { queueServiceUri: values.AzureWebJobsStorage__queueServiceUri }
      : undefined;
  return { databaseUrl: values.DATABASE_URL, storage };
}

let cached: AppConfig | undefined;

/** The process-wide configuration, parsed on first use (never at import time). */
export function getConfig(): AppConfig {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Every setting name the app reads; local.settings.example.json must document each (checked by a test). */
export const SETTING_NAMES = Object.keys(schema.shape);
