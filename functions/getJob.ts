import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { getJob as find } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

/** GET /api/jobs/{id} — the job of the caller (any job for admin); another user's job is 404. */
export async function getJob(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  return json(200, await find(db(), actor, request.params.id ?? ''));
}

app.http('getJob', { route: 'jobs/{id}', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(getJob) });
