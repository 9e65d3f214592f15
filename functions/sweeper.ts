import { type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { jobsQueueOutput, type JobMessage } from '../shared/jobs/delivery';
import { failJob } from '../shared/jobs/failJob';
import { jobInstanceId } from '../shared/orchestration/contracts';
import { scopedLogger } from '../shared/log';
import { sendDueNotices } from '../shared/notify';
import { config, db, notifications } from '../shared/services';

// Each tick re-enqueues at most this many attempts: a backlog drains over a few ticks instead of one huge batch.
const REDELIVER_BATCH = 500;
const RECONCILE_BATCH = 100;
// Purging history is a scan of the task hub: once an hour per instance is plenty.
const PURGE_EVERY_MS = 3_600_000;
let lastPurge = 0;

/**
 * Timer (SWEEPER_SCHEDULE): the safety net under at-least-once delivery.
 * 1. Attempts whose delivery was never acknowledged after SWEEPER_REDELIVER_AFTER_SECONDS are enqueued again
 *    (pg_net webhooks are fire-and-forget; a lost one would otherwise leave the job pending forever).
 * 2. Running jobs whose orchestration is gone are restarted (missing instance) or failed and refunded (failed or
 *    terminated instance).
 * 3. Durable history of finished instances and cached AI answers older than HISTORY_RETENTION_DAYS are purged.
 * 4. With NOTIFY_WEBHOOK_URL: attempts running longer than NOTIFY_LONG_RUNNING_MINUTES, and failures not notified yet,
 *    are announced once each (after the state work above, so a slow receiver delays nothing but this tick).
 */
export async function sweeper(_timer: Timer, client: df.DurableClient, context: InvocationContext): Promise<void> {
  const settings = config().engine;
  const pool = db();
  const messages: JobMessage[] = (
    await pool.query<{ job_id: string; attempt: number }>('select * from longhaul.redeliveries(make_interval(secs => $1), $2)', [settings.redeliverAfterSeconds, REDELIVER_BATCH])
  ).rows.map((r) => ({ jobId: r.job_id, attempt: r.attempt }));

  const stuck = await pool.query<{ id: string; attempt: number }>(
    "select id, attempt from public.jobs where status = 'running' and updated_at < now() - make_interval(secs => $1) order by updated_at limit $2",
    [settings.stuckAfterSeconds, RECONCILE_BATCH],
  );
  let failed = 0;
  for (const job of stuck.rows) {
    const instanceId = jobInstanceId({ jobId: job.id, attempt: job.attempt });
    const status = await client.getStatus(instanceId).catch(() => undefined);
    const state = status?.runtimeStatus;
    if (state === undefined) {
      messages.push({ jobId: job.id, attempt: job.attempt });
    } else if (state === df.OrchestrationRuntimeStatus.Failed || state === df.OrchestrationRuntimeStatus.Terminated || state === df.OrchestrationRuntimeStatus.Completed) {
      const error = { code: 'orchestration_ended', message: `the job's orchestration ended (${state}) without finishing the job` };
      if ((await failJob(pool, job.id, job.attempt, error, 'system:sweeper')).failedNow) failed++;
    }
  }
  if (messages.length > 0) context.extraOutputs.set(jobsQueueOutput, messages);

  let purged = 0;
  if (Date.now() - lastPurge > PURGE_EVERY_MS) {
    lastPurge = Date.now();
    const result = await client.purgeInstanceHistoryBy({
      createdTimeFrom: new Date(0),
      createdTimeTo: new Date(Date.now() - settings.historyRetentionDays * 86_400_000),
      runtimeStatus: [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated],
    });
    purged = result.instancesDeleted;
    await pool.query('delete from longhaul.ai_cache where created_at < now() - make_interval(days => $1)', [settings.historyRetentionDays]);
  }
  const notifier = notifications();
  let notified = 0;
  if (notifier) {
    const log = scopedLogger(context, { functionName: context.functionName, invocationId: context.invocationId });
    notified = await sendDueNotices(pool, notifier, config().notify.longRunningMs, log).catch((err: unknown) => {
      log.warn('notifications skipped this tick', { error: (err as Error).message });
      return 0;
    });
  }
  if (messages.length || failed || purged || notified) context.log(`sweeper: re-enqueued ${messages.length}, failed ${failed} orphaned, purged ${purged} instances, sent ${notified} notifications`);
}

df.app.client.timer('sweeper', { schedule: '%SWEEPER_SCHEDULE%', extraOutputs: [jobsQueueOutput], handler: sweeper });
