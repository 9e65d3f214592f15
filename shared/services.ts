/**
 * The process's shared services, built on first use from the validated configuration (never at import time): one
 * pool, one AI service set, one engine. Function files take what they need from here.
 */
import type { Pool } from 'pg';
import { createAi } from './ai';
import type { AiServices } from './ai/types';
import { getConfig, requireDatabaseUrl, type AppConfig } from './config';
import { getPool } from './db';
import { createEngineActivities, type EngineActivities } from './engine/activities';
import { createNotifier, type Notifier } from './notify';
import { createBlobStore, type ObjectStore } from './storage/blobStore';
import { createSupabaseStore } from './storage/supabaseStore';
import { setupTelemetry } from './telemetry';

// Every function file but the orchestrators imports this module while the app loads: telemetry is set up once per
// process, before any handler runs (a missing package or a bad setting only turns it off, with a warning).
setupTelemetry();

// K: chunk calls per stageRunner generation. Each call adds ~2 history events plus episode markers; 400 keeps a
// generation near 1,600 events, well under the 5,000-event bound and cheap to replay.
const CHUNKS_PER_GENERATION = 400;

let engine: EngineActivities | undefined;
let files: ObjectStore | undefined;
let outputs: ObjectStore | undefined;

// Intermediate files (recording segments) live in the Function App's own storage account whatever IMAGE_STORAGE says:
// every instance can read them, and they never leave the platform.
const WORK_CONTAINER = 'longhaul-work';

function blobStore(container: string): ObjectStore {
  const { storage, files: settings } = getConfig();
  return createBlobStore({ connection: storage, container, urlLifetimeMs: settings.urlLifetimeMs });
}

/** Work files shared between a job's stages (blob storage). */
export function objectStore(): ObjectStore {
  files ??= blobStore(WORK_CONTAINER);
  return files;
}

/** Files handed to the app (generated images): the IMAGE_CONTAINER blob container, or that Supabase Storage bucket. */
export function outputStore(): ObjectStore {
  const settings = getConfig().files;
  outputs ??= settings.outputs === 'supabase' ? createSupabaseStore({ bucket: settings.container, urlLifetimeMs: settings.urlLifetimeMs }) : blobStore(settings.container);
  return outputs;
}
let ai: AiServices | undefined;
let notifier: { value: Notifier | undefined } | undefined;

/** The NOTIFY_WEBHOOK_URL notifier, or undefined when no URL is configured. */
export function notifications(): Notifier | undefined {
  notifier ??= { value: createNotifier({ url: getConfig().notify.url, timeoutMs: getConfig().notify.timeoutMs }) };
  return notifier.value;
}

export function config(): AppConfig {
  return getConfig();
}

export function db(): Pool {
  return getPool(requireDatabaseUrl());
}

export function aiServices(): AiServices {
  ai ??= createAi(getConfig(), db());
  return ai;
}

export function engineActivities(): EngineActivities {
  if (!engine) {
    const { engine: settings } = getConfig();
    engine = createEngineActivities({
      db: db(),
      ai: aiServices,
      aiCache: getConfig().ai.cache,
      files: objectStore,
      outputs: outputStore,
      limits: { maxInFlight: settings.chunkConcurrency, perGeneration: CHUNKS_PER_GENERATION, maxAttempts: settings.chunkMaxAttempts },
      chunkTimeBudgetMs: settings.chunkTimeBudgetMs,
      chunkMaxCrashes: settings.chunkMaxCrashes,
      workerConcurrency: settings.workerConcurrency,
      notifier: notifications(),
    });
  }
  return engine;
}
