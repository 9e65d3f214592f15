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
 * Runs of one chunk that may crash its host (found still running when claimed again) before the chunk is quarantined:
 * failed for good, so its job fails and is refunded instead of taking the host down again at every restart. A single
 * crash is often not the chunk's fault (a scale-in, a deployment); the same chunk under three crashes is.
 */
export const CHUNK_MAX_CRASHES = 3;
