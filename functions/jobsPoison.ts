import { app, type InvocationContext } from '@azure/functions';
import { jobMessageSchema } from '../shared/jobs/delivery';
import { invocationLogger } from '../shared/log';
import { failJob } from '../shared/jobs/failJob';
import { db } from '../shared/services';

/** Queue `jobs-poison`: a delivery failed five times — the job fails and its credits are refunded (once, by the ledger). */
export async function jobsPoison(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = jobMessageSchema.safeParse(message);
  if (!parsed.success) {
    context.error('dropping malformed poison message');
    return;
  }
  const { jobId, attempt } = parsed.data;
  const error = { code: 'delivery_failed', message: `the job could not be started after ${String(context.triggerMetadata?.dequeueCount ?? 5)} deliveries` };
  const { status, failedNow } = await failJob(db(), jobId, attempt, error, 'system:jobsPoison');
  invocationLogger(context, parsed.data).warn('poison delivery: the job could not be started', { status, failedNow });
}

app.storageQueue('jobsPoison', { queueName: '%JOBS_QUEUE_NAME%-poison', connection: 'AzureWebJobsStorage', handler: jobsPoison });
