import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { cancelJob as cancel } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

/** POST /api/jobs/{id}/cancel — a waiting job is cancelled at once; a running one stops after its in-flight chunks. */
export async function cancelJob(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  return json(202, await cancel(db(), actor, request.params.id ?? ''));
}

app.http('cancelJob', { route: 'jobs/{id}/cancel', methods: ['POST'], authLevel: 'anonymous', handler: withErrors(cancelJob) });
