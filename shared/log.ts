/**
 * Scoped logging (graphile-worker LogScope style): shared code receives a logger that already carries
 * {functionName, invocationId, jobId, attempt}; handlers build it from their InvocationContext. Log events, never
 * secrets or full inputs.
 */
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

export function scopedLogger(sink: LogSink, scope: LogFields = {}): Logger {
  const line = (message: string, fields?: LogFields): string => {
    const all = { ...scope, ...fields };
    const tail = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    return tail ? `${message} ${tail}` : message;
  };
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
