import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, readBody, withErrors } from '../shared/api/http';
import { UnauthorizedError } from '../shared/errors';
import { scopedLogger } from '../shared/log';
import { cleanFinishedJobs, cleanRequestSchema } from '../shared/maintenance';
import { config, db, objectStore, outputStore } from '../shared/services';

/** POST /api/maintenance/clean {olderThanDays, dryRun} — admin: purge finished jobs, their files and Durable history. */
export async function maintenanceClean(request: HttpRequest, client: df.DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  if (actor.type !== 'admin') throw new UnauthorizedError('maintenance needs the admin key (x-functions-key)');
  const body = await readBody(request, cleanRequestSchema);
  const report = await cleanFinishedJobs({ db: db(), durable: client, stores: [objectStore(), outputStore()] }, body);
  scopedLogger(context, { functionName: context.functionName, invocationId: context.invocationId }).info('maintenance clean', {
    dryRun: report.dryRun,
    olderThanDays: report.olderThanDays,
    jobs: report.jobs,
    blobs: report.blobs,
    durableInstances: report.durableInstances,
    more: report.more,
  });
  return json(200, report);
}

df.app.client.http('maintenanceClean', { route: 'maintenance/clean', methods: ['POST'], authLevel: 'anonymous', handler: withErrors(maintenanceClean) });
