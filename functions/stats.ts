import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate, requireAdmin } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { createQueueDepthReader, type QueueDepthReader } from '../shared/stats/queueDepth';
import { collectStats } from '../shared/stats/stats';
import { config, db } from '../shared/services';

let queueDepth: QueueDepthReader | undefined;

/** GET /api/stats — jobs by kind and status, queue and poison depth, throughput, usage and rate limits (admin only). */
export async function stats(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  requireAdmin(await authenticate(credentialsOf(request), config()));
  queueDepth ??= createQueueDepthReader(config().storage);
  return json(200, await collectStats({ db: db(), queueDepth, queueName: config().jobsQueueName }));
}

app.http('stats', { route: 'stats', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(stats) });
