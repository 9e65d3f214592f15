/**
 * Scoped logging (graphile-worker LogScope style): shared code receives a logger that already carries
 * {functionName, invocationId, jobId, attempt}; handlers build it from their InvocationContext. Log events, never
 * secrets or full inputs.
 */
import { escapeControlChars } from './safeText';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Anything with the InvocationContext logging methods. */
export interface LogSink {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

// A value printed bare: nothing that could end it early (space, quote), pose as another field (=) or act (controls).
const BARE_VALUE = /^[\w.:/@+,-]+$/;

/** One field as `key=value`; a value that is not plainly bare is quoted, so user text cannot add fields or lines. */
function field(key: string, value: string | number | boolean): string {
  const raw = String(value);
  const shown = BARE_VALUE.test(raw) ? raw : `"${escapeControlChars(raw.replace(/["\\]/g, '\\$&'))}"`;
  return `${key.replace(/[^\w.-]/g, '_')}=${shown}`;
}

/**
 * A line is `message key=value …`: values carry user text (a model name, a provider's error), so the message and every
 * value are escaped here, once for every logger — a newline or an ESC in them is shown, never obeyed.
 */
export function formatLogLine(message: string, fields: LogFields): string {
  const tail = Object.entries(fields)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([k, v]) => field(k, v))
    .join(' ');
  const head = escapeControlChars(message);
  return tail ? `${head} ${tail}` : head;
}

export function scopedLogger(sink: LogSink, scope: LogFields = {}): Logger {
  const line = (message: string, fields?: LogFields): string => formatLogLine(message, { ...scope, ...fields });
  return {
    info: (m, f) => sink.log(line(m, f)),
    warn: (m, f) => sink.warn(line(m, f)),
    error: (m, f) => sink.error(line(m, f)),
    child: (fields) => scopedLogger(sink, { ...scope, ...fields }),
  };
}

/** The logger of one invocation about one job attempt: every line carries {functionName, invocationId, jobId, attempt}. */
export function invocationLogger(context: LogSink & { invocationId: string; functionName: string }, ref: { jobId: string; attempt: number }): Logger {
  return scopedLogger(context, { functionName: context.functionName, invocationId: context.invocationId, jobId: ref.jobId, attempt: ref.attempt });
}
