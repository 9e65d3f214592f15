import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, readBody, withErrors } from '../shared/api/http';
import { jobsQueueOutput } from '../shared/jobs/delivery';
import { markQueued, submitJob as submit } from '../shared/jobs/jobStore';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../shared/pgText';
import { config, db } from '../shared/services';

const bodySchema = z.object({
  kind: z.string().min(1).max(64),
  input: z.unknown().refine((v) => v !== undefined, 'required'),
  idempotencyKey: z.string().min(1).max(200).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).optional(),
  priority: z.number().int().min(-100).max(100).optional(),
  userId: z.string().uuid().optional(),
});

/**
 * POST /api/jobs — validates, charges and enqueues a job, storing the input as the kind's schema parsed it; a repeated
 * idempotencyKey with the same kind and input returns the same job, with anything else it is a 409.
 */
export async function submitJob(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const body = await readBody(request, bodySchema);
  const { job, created } = await submit(db(), actor, body);
  // The database webhook delivers it too; enqueuing here starts it without waiting for that round trip.
  if (created && (await markQueued(db(), job.id, job.attempt, 'system:submitJob'))) context.extraOutputs.set(jobsQueueOutput, { jobId: job.id, attempt: job.attempt });
  return json(202, job);
}

app.http('submitJob', { route: 'jobs', methods: ['POST'], authLevel: 'anonymous', extraOutputs: [jobsQueueOutput], handler: withErrors(submitJob) });
