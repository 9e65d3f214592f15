/**
 * Errors carry their decision (inngest NonRetriableError / RetryAfterError style): HTTP handlers map them to status
 * codes in one place (shared/api/http.ts) and activities let Durable retry only what may succeed on a second try.
 * Nothing is classified by message text.
 */

/** One field-level problem in a request or job input. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** An error a caller can act on; `status` is the HTTP status it maps to. */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(message: string, readonly issues: FieldIssue[] = []) {
    super(message, 400, 'invalid_input', issues.length ? { issues } : undefined);
  }
}

export class UnauthorizedError extends AppError {
  override name = 'UnauthorizedError';
  constructor(message = 'authentication required') {
    super(message, 401, 'unauthorized');
  }
}

export class InsufficientCreditsError extends AppError {
  override name = 'InsufficientCreditsError';
  constructor(message: string) {
    super(message, 402, 'insufficient_credits');
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(message = 'not found') {
    super(message, 404, 'not_found');
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(message: string, issues: FieldIssue[] = []) {
    super(message, 409, 'conflict', issues.length ? { issues } : undefined);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes (MAX_REQUEST_BODY_MB)`, 413, 'payload_too_large', { limitBytes });
  }
}

/** A body holding more JSON values than MAX_JSON_VALUES: refused before it is parsed. */
export class TooManyJsonValuesError extends AppError {
  override name = 'TooManyJsonValuesError';
  constructor(limitValues: number) {
    super(`the request body holds more than ${limitValues} JSON values (objects, arrays, strings, numbers and literals; keys not counted)`, 413, 'payload_too_large', { limitValues });
  }
}

/** Work that will fail the same way however often it is retried (bad input, a 4xx from a provider, a policy block). */
export class NonRetriableError extends Error {
  override name = 'NonRetriableError';
}

/** Transient failure with the wait the other side asked for (HTTP 429/503 Retry-After). */
export class RetryAfterError extends Error {
  override name = 'RetryAfterError';
  /** `status`: the HTTP status that asked for the wait (429 = rate limited), when there was one. */
  constructor(message: string, readonly retryAfterMs: number, readonly status?: number) {
    super(message);
  }
}

/** Maps the SQLSTATEs raised by the migrations' SQL functions (LH400/402/404/409) to AppErrors; anything else as is. */
export function fromDatabaseError(err: unknown): unknown {
  const e = err as { code?: string; message?: string; constraint?: string; hint?: string };
  const message = e.message ?? 'database error';
  switch (e.code) {
    case 'LH400': {
      const [path, ...rest] = message.split(': ');
      return new ValidationError(message, rest.length ? [{ path: path ?? '', message: rest.join(': ') + (e.hint ? ` (${e.hint})` : '') }] : []);
    }
    case 'LH402':
      return new InsufficientCreditsError(message);
    case 'LH404':
      return new NotFoundError(message);
    case 'LH409':
      return new ConflictError(message);
    default:
      return err;
  }
}

/** Whether a Postgres error is the jobs idempotency-key unique violation. */
export function isIdempotencyConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'jobs_idempotency';
}
