/**
 * One classification of provider failures for every SDK (errors carry their retry decision): 408, 409, 429, 5xx,
 * timeouts and connection failures are worth another try, with the wait the provider asked for; every other 4xx, a
 * content-policy block or an unreadable answer fails the work with a message a user understands.
 */
import { NonRetriableError, RetryAfterError } from '../errors';

// Without a Retry-After, wait this long before the next try (Durable retries add their own backoff on top).
const DEFAULT_RETRY_MS = 2_000;

/** Reads retry-after-ms, retry-after (seconds or an HTTP date) from response headers. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The error to throw for an HTTP failure of `provider`. */
export function providerHttpError(provider: string, status: number, message: string, headers?: { get(name: string): string | null }): Error {
  if (isRetriableStatus(status)) {
    return new RetryAfterError(`${provider} answered ${status}: ${message}`, retryAfterMs(headers) ?? DEFAULT_RETRY_MS, status);
  }
  if (status === 401 || status === 403) return new NonRetriableError(`${provider} refused the credentials (${status}): check the API key setting`);
  return new NonRetriableError(`${provider} rejected the request (${status}): ${message}`);
}

/** No answer (connection refused, reset, timeout): transient. */
export function providerUnreachable(provider: string, err: unknown): Error {
  return new RetryAfterError(`${provider} did not answer: ${(err as Error).message}`, DEFAULT_RETRY_MS);
}

export function contentBlocked(provider: string, reason: string): Error {
  return new NonRetriableError(`${provider} blocked this request (${reason}): rephrase the prompt or input`);
}

/** Parses OpenAI's reset durations ("20ms", "1s", "6m0s", "1h2m3.5s") into milliseconds. */
export function parseResetDuration(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  let ms = 0;
  let matched = false;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true;
    ms += Number(amount) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
  }
  return matched ? ms : undefined;
}

/**
 * How long to hold every caller back when a successful answer says the budget is spent (OpenAI and Azure OpenAI:
 * x-ratelimit-remaining-requests/-tokens with -reset-*; Anthropic: anthropic-ratelimit-*-remaining with -reset as a
 * timestamp). Undefined when there is room left.
 */
export function budgetPauseMs(headers: { get(name: string): string | null }, now = Date.now()): number | undefined {
  let pause: number | undefined;
  for (const kind of ['requests', 'tokens']) {
    if (headers.get(`x-ratelimit-remaining-${kind}`) === '0') {
      const reset = parseResetDuration(headers.get(`x-ratelimit-reset-${kind}`));
      if (reset !== undefined) pause = Math.max(pause ?? 0, reset);
    }
    if (headers.get(`anthropic-ratelimit-${kind}-remaining`) === '0') {
      const at = Date.parse(headers.get(`anthropic-ratelimit-${kind}-reset`) ?? '');
      if (Number.isFinite(at)) pause = Math.max(pause ?? 0, at - now);
    }
  }
  return pause;
}
