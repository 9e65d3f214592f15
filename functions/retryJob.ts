import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { jobsQueueOutput } from '../shared/jobs/delivery';
import { markQueued, retryJob as retry } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

/** POST /api/jobs/{id}/retry — a new attempt of a failed or cancelled job that resumes its unfinished chunks. */
export async function retryJob(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const job = await retry(db(), actor, request.params.id ?? '');
  if (await markQueued(db(), job.id, job.attempt, 'system:retryJob')) context.extraOutputs.set(jobsQueueOutput, { jobId: job.id, attempt: job.attempt });
  return json(202, job);
}

app.http('retryJob', { route: 'jobs/{id}/retry', methods: ['POST'], authLevel: 'anonymous', extraOutputs: [jobsQueueOutput], handler: withErrors(retryJob) });
