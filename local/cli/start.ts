/**
 * `npm start`: the whole system on one machine — embedded Postgres, in-process Azurite, and the local Functions host
 * running the built app. DATABASE_URL / AzureWebJobsStorage point it at external services instead. State lives in
 * ${LONGHAUL_HOME:-.longhaul}; on ready it writes local.json and prints a line containing "ready".
 *
 * The host runs as a child process that this one restarts when it ends unasked (a function timeout ends it, as on
 * Azure); a start after a crash first clears what the crashed run left (see homeLock, postmasterLock, hostSupervisor).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createLogger } from '../host/logger';
import { generateKey, loadOrCreateKeys } from '../http/keys';
import { acquireHomeLock } from '../services/homeLock';
import { stopLeftoverHost, superviseHost } from '../services/hostSupervisor';
import { startAzurite } from '../services/azurite';
import { startPostgres } from '../services/postgres';
import { ensureDemoUser, LOCAL_ISSUER } from '../supabase/demoUser';
import { applyMigrations } from '../supabase/migrate';
import { startWebhookBridge } from '../supabase/webhookBridge';

const repoRoot = resolve(__dirname, '..', '..', '..');

interface LocalSecrets {
  webhookSecret: string;
  jwtSecret: string;
}

function loadOrCreateSecrets(file: string): LocalSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets;
  const secrets = { webhookSecret: generateKey(), jwtSecret: generateKey() };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = createLogger('start');
  const home = resolve(process.env.LONGHAUL_HOME ?? join(repoRoot, '.longhaul'));
  const lock = await acquireHomeLock(home);
  const stops: (() => Promise<void>)[] = [() => lock.release()];
  const hostScript = join(repoRoot, 'dist', 'local', 'host', 'main.js');
  const hostPidFile = join(home, 'host.pid');
  await stopLeftoverHost(hostPidFile, hostScript, log);

  let databaseUrl = process.env.DATABASE_URL;
  let migrate = process.env.LONGHAUL_MIGRATE === '1';
  if (!databaseUrl) {
    const pg = await startPostgres({ dataDir: join(home, 'pg') });
    stops.unshift(() => pg.stop());
    databaseUrl = await ensureDatabase(pg.url, 'longhaul');
    migrate = true;
  }
  // An external database is a Supabase project (migrated with `supabase db push`) unless LONGHAUL_MIGRATE=1 says
  // it is a plain Postgres to set up like the embedded one.
  if (migrate) {
    const { applied } = await applyMigrations(databaseUrl);
    if (applied.length > 0) log.info(`applied ${applied.length} migrations`);
  }
  let storage = process.env.AzureWebJobsStorage;
  if (!storage) {
    const azurite = await startAzurite({ dataDir: join(home, 'azurite') });
    stops.unshift(() => azurite.stop());
    storage = azurite.connectionString;
  }
  const keysFile = join(home, 'keys.json');
  const keys = loadOrCreateKeys(keysFile);
  const secrets = loadOrCreateSecrets(join(home, 'secrets.json'));
  // The app reads its settings from the environment, exactly as on Azure (app settings become variables).
  process.env.DATABASE_URL = databaseUrl;
  process.env.AzureWebJobsStorage = storage;
  process.env.SUPABASE_WEBHOOK_SECRET ??= secrets.webhookSecret;
  process.env.SUPABASE_JWT_SECRET ??= secrets.jwtSecret;
  // Tokens are checked for their issuer as on a project (<SUPABASE_URL>/auth/v1); locally the demo user's issuer.
  if (!process.env.SUPABASE_URL) process.env.SUPABASE_JWT_ISSUER ??= LOCAL_ISSUER;
  process.env.JOBS_QUEUE_NAME ??= 'jobs';
  process.env.SWEEPER_SCHEDULE ??= '*/10 * * * * *';
  // On one's own machine, recordings are usually served from it (README's example): fetch loopback addresses too.
  process.env.RECORDING_ALLOW_PRIVATE_URLS ??= 'true';
  // One key for everything locally: the host's master key also opens the app's admin routes.
  process.env.ADMIN_API_KEY ??= keys.masterKey;

  const host = await superviseHost({
    script: hostScript,
    args: [repoRoot],
    env: { ...process.env, LONGHAUL_HOME: home, LONGHAUL_KEYS_FILE: keysFile, LONGHAUL_PORT: process.env.LONGHAUL_PORT ?? '7071' },
    pidFile: hostPidFile,
    log,
  });
  const bridge = await startWebhookBridge({ databaseUrl, url: `${host.url}/api/webhooks/supabase`, secret: process.env.SUPABASE_WEBHOOK_SECRET, log: createLogger('webhook') });
  stops.unshift(() => bridge.stop());
  // The host goes first: once asked to stop, the supervisor no longer takes its exit for a crash.
  stops.unshift(() => host.stop());
  const demoUser = migrate ? await ensureDemoUser(databaseUrl, process.env.SUPABASE_JWT_SECRET) : null;

  const localJson = {
    baseUrl: host.url,
    databaseUrl,
    storageConnectionString: storage,
    adminKey: keys.masterKey,
    webhookSecret: process.env.SUPABASE_WEBHOOK_SECRET,
    jwtSecret: process.env.SUPABASE_JWT_SECRET,
    // A signed-in user with 10,000 credits (null when DATABASE_URL points at a project we did not set up).
    demoUser: demoUser && { id: demoUser.id, email: demoUser.email, token: demoUser.token },
  };
  writeFileSync(join(home, 'local.json'), `${JSON.stringify(localJson, null, 2)}\n`, { mode: 0o600 });

  const ms = Math.round(performance.now() - started);
  console.log(`  app:          ${host.url}/api/health`);
  console.log(`  functions:    ${host.functionNames.join(', ')}`);
  console.log(`  durable API:  ${host.url}/runtime/webhooks/durabletask/instances?code=<adminKey>`);
  console.log(`  jobs API:     ${host.url}/api/jobs (Authorization: Bearer <demoUser.token>, or x-functions-key: <adminKey>)`);
  console.log(`  settings:     ${join(home, 'local.json')} (adminKey, demoUser.token, databaseUrl, storageConnectionString)`);
  console.log(`longhaul ready on ${host.url} in ${ms} ms (pid ${process.pid})`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    (async () => {
      for (const stop of stops) await stop().catch((err: unknown) => log.warn(`stop: ${(err as Error).message}`));
    })().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`longhaul failed to start: ${(err as Error).message}`);
  process.exit(1);
});
