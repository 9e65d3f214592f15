import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, parseWith, queryObject, withErrors } from '../shared/api/http';
import { JOB_STATUSES } from '../shared/jobs/job';
import { listJobs as list } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

const querySchema = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  kind: z.string().regex(/^[a-z][a-z0-9_]{1,40}$/, 'a job kind').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  userId: z.string().uuid().optional(),
  code: z.string().optional(),
});

/** GET /api/jobs?status=&kind=&limit=&cursor= — the caller's jobs, newest first (admin: everyone's, ?userId= to filter). */
export async function listJobs(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const q = parseWith(querySchema, queryObject(request));
  return json(200, await list(db(), actor, { ...q, userId: actor.type === 'admin' ? q.userId : undefined }));
}

app.http('listJobs', { route: 'jobs', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(listJobs) });
