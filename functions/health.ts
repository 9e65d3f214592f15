import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { getPool } from '../shared/db';
import { CheckSkipped, runHealthChecks } from '../shared/health';
import { aiServices } from '../shared/services';
import { queueServiceClient } from '../shared/storage/storageConnection';

/** GET /api/health — database, storage queue and Durable backend reachability, AI provider configuration; 503 names the failing check. */
export async function health(_request: HttpRequest, client: df.DurableClient, _context: InvocationContext): Promise<HttpResponseInit> {
  const config = getConfig();
  const report = await runHealthChecks({
    database: async () => {
      if (!config.databaseUrl) throw new CheckSkipped('DATABASE_URL is not set');
      await getPool(config.databaseUrl).query('select 1');
    },
    queue: async () => {
      const storage = config.storage;
      if (!storage) throw new CheckSkipped('AzureWebJobsStorage is not set');
      // One try: a health probe reports the state now; the SDK's default retries would outlast the deadline.
      await queueServiceClient(storage, { retryOptions: { maxTries: 1, tryTimeoutInMs: 4000 } }).getProperties();
    },
    durable: async () => {
      // Listing instances created from now on is cheap and proves the task hub answers.
      await client.getStatusBy({ createdTimeFrom: new Date() });
    },
    ai: async () => {
      // Configuration only (no provider call, which would cost money and rate-limit budget on every probe).
      const ai = aiServices();
      return (['text', 'embeddings', 'transcription', 'images'] as const).map((c) => `${c}: ${ai[c].provider} (${ai[c].defaultModel})`).join(', ');
    },
  });
  return { status: report.status === 'healthy' ? 200 : 503, jsonBody: report, headers: { 'cache-control': 'no-store' } };
}

df.app.client.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
