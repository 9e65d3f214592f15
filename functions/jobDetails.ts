import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate, requireAdmin } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { jobDetails as details } from '../shared/jobs/jobDetails';
import { config, db } from '../shared/services';

/** GET /api/jobs/{id}/details — the job with its stages, chunk counts, errors, attempts and event log (admin only). */
export async function jobDetails(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  requireAdmin(await authenticate(credentialsOf(request), config()));
  return json(200, await details(db(), request.params.id ?? ''));
}

app.http('jobDetails', { route: 'jobs/{id}/details', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(jobDetails) });
