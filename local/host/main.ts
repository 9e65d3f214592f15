/**
 * Runs the local host as its own process (what tests, benchmarks and extra workers start):
 *   node dist/local/host/main.js [appDir]
 * Settings: DATABASE_URL (or LONGHAUL_DURABLE_DATABASE_URL for the task hub), AzureWebJobsStorage, LONGHAUL_PORT
 * (0 = any free port), LONGHAUL_HOME (keys.json lives there), LONGHAUL_WEBHOOK_BRIDGE=1 to stand in for the Supabase
 * database webhook (needs DATABASE_URL and SUPABASE_WEBHOOK_SECRET). Prints one line containing "ready" with the URL.
 */
import { join, resolve } from 'node:path';
import { startHost } from './host';
import { createLogger } from './logger';
import { loadOrCreateKeys } from '../http/keys';
import { startWebhookBridge, type WebhookBridge } from '../supabase/webhookBridge';

async function main(): Promise<void> {
  const log = createLogger('host');
  const appDir = resolve(process.argv[2] ?? process.cwd());
  const databaseUrl = process.env.LONGHAUL_DURABLE_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL (or LONGHAUL_DURABLE_DATABASE_URL) must be set');
  const home = resolve(process.env.LONGHAUL_HOME ?? '.longhaul');
  const keys = loadOrCreateKeys(process.env.LONGHAUL_KEYS_FILE ?? join(home, 'keys.json'));
  const host = await startHost({ appDir, port: Number(process.env.LONGHAUL_PORT ?? '7071'), databaseUrl, keys, log });
  let bridge: WebhookBridge | undefined;
  if (process.env.LONGHAUL_WEBHOOK_BRIDGE === '1' && process.env.DATABASE_URL && process.env.SUPABASE_WEBHOOK_SECRET) {
    bridge = await startWebhookBridge({ databaseUrl: process.env.DATABASE_URL, url: `${host.url}/api/webhooks/supabase`, secret: process.env.SUPABASE_WEBHOOK_SECRET, log });
  }
  process.stdout.write(`longhaul host ready on ${host.url} (pid ${process.pid}, host id ${host.liveness.hostId})\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping (finishing in-flight work)`);
    Promise.all([bridge?.stop(), host.stop()]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`longhaul host failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
