/**
 * Delivery of job attempts to the `jobs` queue: the message shape, the webhook payload it is made from, and the
 * output binding every enqueuing function shares (webhook, API, sweeper).
 */
import { output } from '@azure/functions';
import { z } from 'zod';

/** A queue message: which attempt of which job to start. Storage queue messages are capped at 64 KiB: ids only. */
// attempt is a Postgres integer: a larger one must be a 400, not an out-of-range error from the database.
const attemptSchema = z.number().int().positive().max(2_147_483_647);
export const jobMessageSchema = z.object({ jobId: z.string().uuid(), attempt: attemptSchema });
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** The Supabase database webhook body ({type, table, schema, record, old_record}). */
export const webhookPayloadSchema = z.object({
  type: z.enum(['INSERT', 'UPDATE', 'DELETE']),
  table: z.string().min(1),
  schema: z.string().min(1),
  record: z.record(z.string(), z.unknown()).nullable(),
  old_record: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

const jobRecordSchema = z.object({ id: z.string().uuid(), attempt: attemptSchema, status: z.string() });

/**
 * The job attempt a webhook asks to start, or undefined for events that are not a job submission or retry (other
 * tables, deletes, ordinary updates): those are acknowledged and ignored.
 */
export function attemptFromWebhook(payload: WebhookPayload): JobMessage | undefined {
  if (payload.schema !== 'public' || payload.table !== 'jobs') return undefined;
  const record = jobRecordSchema.safeParse(payload.record);
  if (payload.type === 'INSERT' && record.success) return { jobId: record.data.id, attempt: record.data.attempt };
  if (payload.type === 'UPDATE' && record.success) {
    const old = jobRecordSchema.safeParse(payload.old_record);
    if (old.success && record.data.attempt > old.data.attempt && record.data.status === 'pending') return { jobId: record.data.id, attempt: record.data.attempt };
  }
  return undefined;
}

/** Output binding to the jobs queue (`JOBS_QUEUE_NAME`, default jobs), on the app's storage account. */
export const jobsQueueOutput = output.storageQueue({ queueName: '%JOBS_QUEUE_NAME%', connection: 'AzureWebJobsStorage' });
