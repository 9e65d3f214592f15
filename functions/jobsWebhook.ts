import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { json, readBody, withErrors } from '../shared/api/http';
import { secretsEqual } from '../shared/api/secrets';
import { UnauthorizedError } from '../shared/errors';
import { attemptFromWebhook, jobsQueueOutput, webhookPayloadSchema } from '../shared/jobs/delivery';
import { markQueued } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

/** POST /api/webhooks/supabase — the database webhook for job inserts and retries: checks the secret, enqueues {jobId, attempt}. */
export async function jobsWebhook(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  if (!secretsEqual(request.headers.get('x-webhook-secret'), config().supabase.webhookSecret)) throw new UnauthorizedError('wrong or missing x-webhook-secret');
  const payload = await readBody(request, webhookPayloadSchema);
  const attempt = attemptFromWebhook(payload);
  if (!attempt) return json(202, { accepted: false, reason: 'not a job submission or retry' });
  // A redelivered webhook enqueues again; the queue function starts each attempt once.
  if (await markQueued(db(), attempt.jobId, attempt.attempt, 'system:jobsWebhook')) context.extraOutputs.set(jobsQueueOutput, attempt);
  return json(202, { accepted: true, ...attempt });
}

app.http('jobsWebhook', { route: 'webhooks/supabase', methods: ['POST'], authLevel: 'anonymous', extraOutputs: [jobsQueueOutput], handler: withErrors(jobsWebhook) });
