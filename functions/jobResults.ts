import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, parseWith, queryObject, withErrors } from '../shared/api/http';
import { jobResults as results } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

const querySchema = z.object({
  cursor: z.string().regex(/^\d{1,15}$/, 'a cursor returned by this API').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  code: z.string().optional(),
});

/** GET /api/jobs/{id}/results?cursor=&limit= — the job's per-item outputs (workflow: one per node), in order. */
export async function jobResults(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const q = parseWith(querySchema, queryObject(request));
  return json(200, await results(db(), actor, request.params.id ?? '', q.cursor, q.limit));
}

app.http('jobResults', { route: 'jobs/{id}/results', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(jobResults) });
