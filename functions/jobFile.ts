import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, withErrors } from '../shared/api/http';
import { NotFoundError } from '../shared/errors';
import { jobFileHeaders } from '../shared/jobs/fileHeaders';
import { getJob } from '../shared/jobs/jobStore';
import { isStorableText } from '../shared/pgText';
import { config, db } from '../shared/services';

/** GET /api/jobs/{id}/files/{name} — a file the job produced (a brief's images), for its owner or an admin; headers from fileHeaders.ts. */
export async function jobFile(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const job = await getJob(db(), actor, request.params.id ?? '');
  const name = request.params.name ?? '';
  // A name Postgres cannot hold as text (NUL) names no file.
  if (!isStorableText(name)) throw new NotFoundError(`job ${job.id} has no such file`);
  const { rows } = await db().query<{ content_type: string; data: Buffer }>('select content_type, data from longhaul.job_files where job_id = $1 and name = $2', [job.id, name]);
  const file = rows[0];
  if (!file) throw new NotFoundError(`job ${job.id} has no file ${name}`);
  return { status: 200, body: file.data, headers: jobFileHeaders(file.content_type, name) };
}

app.http('jobFile', { route: 'jobs/{id}/files/{name}', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(jobFile) });
