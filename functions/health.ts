import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf } from '../shared/api/http';
import { getConfig } from '../shared/config';
import { getPool } from '../shared/db';
import { CheckSkipped, publicHealthReport, runHealthChecks } from '../shared/health';
import { aiServices } from '../shared/services';
import { queueServiceClient } from '../shared/storage/storageConnection';

/**
 * GET /api/health — database, storage queue and Durable backend reachability, AI provider configuration; 503 names the
 * failing check. Anyone sees the verdict and each check's status; the admin key (x-functions-key) also sees timings
 * and detail (error text, providers and models).
 */
export async function health(request: HttpRequest, client: df.DurableClient, _context: InvocationContext): Promise<HttpResponseInit> {
  const config = getConfig();
  // Any credential that is not the admin key (none, a user token, a wrong key) gets the public report, never a 401.
  const admin = authenticate(credentialsOf(request), config).then(
    (actor) => actor.type === 'admin',
    () => false,
  );
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
  return {
    status: report.status === 'healthy' ? 200 : 503,
    jsonBody: (await admin) ? report : publicHealthReport(report),
    headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  };
}

df.app.client.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
