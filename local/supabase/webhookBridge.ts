/**
 * Local stand-in for Supabase's database webhook (pg_net): LISTENs on `longhaul_webhook` (see
 * supabase/local/webhook_notify.sql, fired by the same inserts and retries as the real webhook) and POSTs the payload
 * unchanged to the Function App with the x-webhook-secret header. Like pg_net it is fire-and-forget: one try, a
 * timeout, no retry — the outbox and the sweeper cover what it loses, locally as in production.
 */
import { Client } from 'pg';

export interface WebhookBridgeOptions {
  databaseUrl: string;
  url: string;
  secret: string;
  timeoutMs?: number;
  log: { info(m: string): void; warn(m: string): void };
}

export interface WebhookBridge {
  /** Deliveries attempted so far (tests use it to prove the bridge was really off or on). */
  readonly sent: number;
  stop(): Promise<void>;
}

export async function startWebhookBridge(opts: WebhookBridgeOptions): Promise<WebhookBridge> {
  let client: Client | undefined;
  let stopped = false;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();

  const deliver = (payload: string): void => {
    sent++;
    const delivery = fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': opts.secret },
      body: payload,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    }).then(
      async (res) => {
        await res.arrayBuffer();
        if (res.status >= 300) opts.log.warn(`webhook answered ${res.status}`);
      },
      (err: unknown) => opts.log.warn(`webhook delivery failed: ${(err as Error).message}`),
    );
    inFlight.add(delivery);
    void delivery.finally(() => inFlight.delete(delivery));
  };

  const connect = async (): Promise<void> => {
    const next = new Client({ connectionString: opts.databaseUrl, application_name: 'longhaul-webhook-bridge' });
    next.on('notification', (n) => n.channel === 'longhaul_webhook' && n.payload && deliver(n.payload));
    next.on('error', (err) => {
      opts.log.warn(`webhook bridge lost its connection (${err.message}); reconnecting`);
      void reconnect();
    });
    await next.connect();
    await next.query('listen longhaul_webhook');
    client = next;
  };
  const reconnect = async (): Promise<void> => {
    const old = client;
    client = undefined;
    await old?.end().catch(() => undefined);
    while (!stopped && !client) {
      try {
        await connect();
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  await connect();
  return {
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      await Promise.allSettled([...inFlight]);
      await client?.end().catch(() => undefined);
    },
  };
}
