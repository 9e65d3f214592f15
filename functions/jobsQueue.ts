import { type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { jobMessageSchema } from '../shared/jobs/delivery';
import { invocationLogger } from '../shared/log';
import { FN, jobInstanceId } from '../shared/orchestration/contracts';
import { db } from '../shared/services';

/** Queue `jobs`: starts `jobOrchestrator` as job-<id>-<attempt>. A duplicate message finds the instance and does nothing. */
export async function jobsQueue(message: unknown, client: df.DurableClient, context: InvocationContext): Promise<void> {
  const parsed = jobMessageSchema.safeParse(message);
  if (!parsed.success) {
    // Retrying cannot fix a malformed message: drop it (no job can be identified to fail).
    context.error(`dropping malformed jobs message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return;
  }
  const ref = parsed.data;
  const log = invocationLogger(context, ref);
  const pool = db();
  const { rows } = await pool.query<{ deliverable: boolean }>('select longhaul.deliverable($1, $2) as deliverable', [ref.jobId, ref.attempt]);
  if (!rows[0]?.deliverable) {
    await pool.query('select longhaul.acknowledge_delivery($1, $2)', [ref.jobId, ref.attempt]);
    log.info('job attempt is not waiting to start (finished, cancelled or superseded): message ignored');
    return;
  }
  const instanceId = jobInstanceId(ref);
  try {
    await client.startNew(FN.jobOrchestrator, { instanceId, input: ref });
    log.info('orchestration started', { instanceId });
  } catch (err) {
    // The client reports a conflict only as an error: decide by the instance's state, not the message text.
    const status = await client.getStatus(instanceId).catch(() => undefined);
    const live = [df.OrchestrationRuntimeStatus.Pending, df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Suspended];
    if (!status || !live.includes(status.runtimeStatus)) throw err;
    log.info('orchestration already running: duplicate delivery ignored', { instanceId });
  }
  await pool.query('select longhaul.acknowledge_delivery($1, $2)', [ref.jobId, ref.attempt]);
}

df.app.client.storageQueue('jobsQueue', { queueName: '%JOBS_QUEUE_NAME%', connection: 'AzureWebJobsStorage', handler: jobsQueue });
