/**
 * Runs the local host as its own process (what tests, benchmarks and extra workers start):
 *   node dist/local/host/main.js [appDir]
 * Settings: DATABASE_URL (or LONGHAUL_DURABLE_DATABASE_URL for the task hub), AzureWebJobsStorage, LONGHAUL_PORT
 * (0 = any free port), LONGHAUL_HOME (keys.json lives there), LONGHAUL_PUBLIC_HOSTS (comma-separated Host header
 * values to accept besides 127.0.0.1/localhost/[::1] with the port), LONGHAUL_WEBHOOK_BRIDGE=1 to stand in for the
 * Supabase database webhook (needs DATABASE_URL and SUPABASE_WEBHOOK_SECRET). Prints one line containing "ready" with
 * the URL — or, started by `npm start`'s supervisor (an IPC channel), reports readiness on the channel instead and
 * ends when the channel closes (the supervisor is gone).
 */
import { join, resolve } from 'node:path';
import type { HostReadyMessage } from '../services/hostSupervisor';
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
  const publicHosts = (process.env.LONGHAUL_PUBLIC_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const host = await startHost({ appDir, port: Number(process.env.LONGHAUL_PORT ?? '7071'), databaseUrl, keys, publicHosts, log });
  let bridge: WebhookBridge | undefined;
  if (process.env.LONGHAUL_WEBHOOK_BRIDGE === '1' && process.env.DATABASE_URL && process.env.SUPABASE_WEBHOOK_SECRET) {
    bridge = await startWebhookBridge({ databaseUrl: process.env.DATABASE_URL, url: `${host.url}/api/webhooks/supabase`, secret: process.env.SUPABASE_WEBHOOK_SECRET, log });
  }
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

  if (process.send) {
    const orphaned = (): void => {
      // The supervisor is gone (killed, perhaps with -9): nobody will stop this host, so it stops itself, briefly.
      setTimeout(() => process.exit(1), ORPHAN_STOP_MS).unref();
      shutdown('supervisor gone');
    };
    process.once('disconnect', orphaned);
    if (!process.connected) orphaned();
    else {
      const ready: HostReadyMessage = { type: 'ready', url: host.url, port: host.port, functionNames: host.functionNames };
      process.send(ready);
    }
  } else {
    process.stdout.write(`longhaul host ready on ${host.url} (pid ${process.pid}, host id ${host.liveness.hostId})\n`);
  }
}

/** A host whose supervisor died finishes what it can in this long, then exits anyway. */
const ORPHAN_STOP_MS = 5_000;

main().catch((err: unknown) => {
  process.stderr.write(`longhaul host failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
