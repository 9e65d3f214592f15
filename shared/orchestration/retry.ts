/** Retry policies of the job orchestrations (pure: constructing RetryOptions does no I/O). */
import * as df from 'durable-functions';

/** Engine bookkeeping activities: transient database errors are retried 5 times, 1 s then doubling up to 30 s. */
export function activityRetry(): df.RetryOptions {
  const retry = new df.RetryOptions(1000, 5);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 30_000;
  return retry;
}

/** Chunk activities: the chunk itself counts failures and turns the last allowed one into a failed chunk. */
export function chunkRetry(maxAttempts: number): df.RetryOptions {
  // One spare attempt: a try that crashed the worker is not counted by the chunk, and must not end the job either.
  const retry = new df.RetryOptions(2000, maxAttempts + 1);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 60_000;
  return retry;
}

/**
 * Default of JOB_CHUNK_MAX_CRASHES: runs in a row of one chunk that may crash its host (found still running when claimed again, with no progress of the
 * job in between) before the chunk is quarantined: failed for good, so its job fails and is refunded instead of taking
 * the host down again at every restart. A crash is often not the chunk's fault (a scale-in, a deployment, a host
 * killed while a slow chunk runs); five in a row with nothing done between them are. Three failed the kill -9 chaos
 * suite now and then: 20 kills in 45 s can land on one slow chunk three times.
 */
export const CHUNK_MAX_CRASHES = 5;
