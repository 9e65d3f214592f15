/**
 * host.json, read the way the Functions host reads it, with the host's defaults for everything the file leaves out.
 * Only the settings the local host acts on are modelled; the rest of the file is accepted and ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Parses a .NET TimeSpan string ("hh:mm:ss", "d.hh:mm:ss", fractional seconds allowed) into milliseconds. */
export function parseTimeSpan(value: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a TimeSpan (expected hh:mm:ss or d.hh:mm:ss)`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return Math.round(((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000);
}

const timeSpan = z.string().transform((value, ctx) => {
  try {
    return parseTimeSpan(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const hostJsonSchema = z.object({
  version: z.literal('2.0'),
  functionTimeout: timeSpan.optional(),
  extensions: z
    .object({
      http: z.object({ routePrefix: z.string().optional(), maxRequestBodySizeMb: z.number().positive().optional() }).loose().optional(),
      queues: z
        .object({
          batchSize: z.number().int().min(1).max(32).optional(),
          newBatchThreshold: z.number().int().min(0).optional(),
          maxPollingInterval: timeSpan.optional(),
          visibilityTimeout: timeSpan.optional(),
          maxDequeueCount: z.number().int().min(1).optional(),
          messageEncoding: z.enum(['base64', 'none']).optional(),
        })
        .loose()
        .optional(),
      durableTask: z
        .object({
          hubName: z.string().optional(),
          maxConcurrentActivityFunctions: z.number().int().min(1).optional(),
          maxConcurrentOrchestratorFunctions: z.number().int().min(1).optional(),
        })
        .loose()
        .optional(),
    })
    .loose()
    .optional(),
}).loose();

/** The host settings the local host acts on, with defaults applied. */
export interface HostConfig {
  functionTimeoutMs: number;
  http: { routePrefix: string; maxRequestBodyBytes: number };
  queues: {
    batchSize: number;
    newBatchThreshold: number;
    maxPollingIntervalMs: number;
    visibilityTimeoutMs: number;
    maxDequeueCount: number;
    messageEncoding: 'base64' | 'none';
  };
  durableTask: { hubName: string; maxConcurrentActivityFunctions: number; maxConcurrentOrchestratorFunctions: number };
}

/**
 * Reads and validates `<appDir>/host.json`, with the app settings that override it as on Azure
 * (`AzureFunctionsJobHost__functionTimeout`, `AzureFunctionsJobHost__extensions__queues__batchSize`, …);
 * a malformed value stops start-up with the failing field named.
 */
export function readHostConfig(appDir: string, processorCount: number, env: NodeJS.ProcessEnv = process.env): HostConfig {
  const raw: unknown = withOverrides(JSON.parse(readFileSync(join(appDir, 'host.json'), 'utf8')), env);
  const parsed = hostJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`host.json is invalid at "${issue?.path.join('.')}": ${issue?.message}`);
  }
  const ext = parsed.data.extensions ?? {};
  const batchSize = ext.queues?.batchSize ?? 16;
  return {
    // Flex Consumption / Premium / Dedicated default; Consumption apps set ≤ 10 minutes explicitly.
    functionTimeoutMs: parsed.data.functionTimeout ?? 30 * 60_000,
    http: {
      routePrefix: (ext.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
      // The Functions front end rejects request bodies over 100 MB.
      maxRequestBodyBytes: (ext.http?.maxRequestBodySizeMb ?? 100) * 1024 * 1024,
    },
    queues: {
      batchSize,
      newBatchThreshold: ext.queues?.newBatchThreshold ?? Math.floor(batchSize / 2) * processorCount,
      maxPollingIntervalMs: Math.max(100, ext.queues?.maxPollingInterval ?? 60_000),
      visibilityTimeoutMs: ext.queues?.visibilityTimeout ?? 0,
      maxDequeueCount: ext.queues?.maxDequeueCount ?? 5,
      messageEncoding: ext.queues?.messageEncoding ?? 'base64',
    },
    durableTask: {
      hubName: ext.durableTask?.hubName ?? process.env.WEBSITE_SITE_NAME ?? 'TestHubName',
      maxConcurrentActivityFunctions: ext.durableTask?.maxConcurrentActivityFunctions ?? 10 * processorCount,
      maxConcurrentOrchestratorFunctions: ext.durableTask?.maxConcurrentOrchestratorFunctions ?? 10 * processorCount,
    },
  };
}

const OVERRIDE_PREFIX = 'azurefunctionsjobhost__';

/** Applies `AzureFunctionsJobHost__a__b=value` settings to host.json (keys matched case-insensitively, as .NET does). */
function withOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toLowerCase().startsWith(OVERRIDE_PREFIX)) continue;
    const path = name.slice(OVERRIDE_PREFIX.length).split('__').filter(Boolean);
    const last = path.pop();
    if (!last) continue;
    let node = raw as Record<string, unknown>;
    for (const segment of path) {
      const key = Object.keys(node).find((k) => k.toLowerCase() === segment.toLowerCase()) ?? segment;
      const child = node[key];
      if (typeof child !== 'object' || child === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const key = Object.keys(node).find((k) => k.toLowerCase() === last.toLowerCase()) ?? last;
    node[key] = settingValue(value, node[key]);
  }
  return raw;
}

/** App settings are strings; host.json has numbers and booleans: take the type of the value being replaced. */
function settingValue(text: string, current: unknown): unknown {
  const trimmed = text.trim();
  const isNumber = /^-?\d+(\.\d+)?$/.test(trimmed);
  const isBoolean = /^(true|false)$/i.test(trimmed);
  if (typeof current === 'number' || (current === undefined && isNumber)) return Number(trimmed);
  if (typeof current === 'boolean' || (current === undefined && isBoolean)) return trimmed.toLowerCase() === 'true';
  return text;
}

/** Resolves `%SettingName%` binding expressions from app settings, as the host does for queue names and schedules. */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) throw new Error(`App setting "${name}" referenced by a binding expression is not set`);
    return resolved;
  });
}
