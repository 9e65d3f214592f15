/**
 * The error a job's owner sees. Failures reach a job from many places — a kind's own message, a provider's answer,
 * or an activity that threw, whose text Durable Functions hands on as `Activity function 'x' failed: <message>` plus
 * the serialised exception (its stack: function names and absolute paths of the deployed code). Users get messages,
 * never stack traces or server paths, and never the wording of a configuration error: the detail stays in the host's
 * logs, which record every failed invocation with its exception.
 */
import { boundJobError, type JobError } from '../orchestration/contracts';

/** What the user reads when the service's own configuration stopped the job (a provider key missing, a bad setting). */
export const MISCONFIGURED_MESSAGE = 'the service is misconfigured; the job could not run';

const MAX_MESSAGE_CHARS = 1000;

// Lines from here on are a stack or a serialised exception, not a message: V8 frames (`    at fn (/path:1:2)`), the
// Durable details JSON (`{"Message":…,"StackTrace":…}`), the Functions host's `Stack:` section.
const INTERNAL_LINE = /^\s*(at\s|\{|Stack:|StackTrace|Result: Failure)/;
// Durable's wrapping of an activity failure, and the host's `Exception:` label: not the user's business.
const WRAPPERS = /Activity function '[^']*' failed:\s*|Result: Failure\s*|Exception:\s*/g;
// An absolute path that is not part of a URL (after `:` or `/`) or of a relative name (after a word character).
const POSIX_PATH = /(?<![\w:/.~-])(?:\/[\w.@+~-]+){2,}(?::\d+)*/g;
const WINDOWS_PATH = /(?<![\w])[A-Za-z]:\\[^\s'"`)]+/g;
// A ConfigError thrown in an activity: its name heads the serialised stack (V8's `Name: message` first line) or the
// failure type Durable reports. The class carries no other mark across the Durable boundary.
const CONFIG_ERROR = /\bConfigError: /;

/** Removes Durable's wrapping, stack frames, serialised exceptions and absolute paths from a failure's text. */
export function userMessage(text: string): string {
  const kept: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (INTERNAL_LINE.test(line)) break;
    kept.push(line);
  }
  const message = kept
    .join('\n')
    .replace(WRAPPERS, '')
    .replace(POSIX_PATH, '<path>')
    .replace(WINDOWS_PATH, '<path>')
    .trim();
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

/** Whether a failure's text is a configuration error thrown by the service itself. */
export function isConfigFailure(text: string): boolean {
  return CONFIG_ERROR.test(text);
}

/**
 * The job error as stored and shown: built from the known fields only (message, code, the node `key`, invalid-input
 * issues), with the message and each issue cleaned by userMessage and then cut by boundJobError (the same bounds as
 * what crosses the orchestration); a configuration failure becomes MISCONFIGURED_MESSAGE.
 */
export function publicJobError(error: unknown): JobError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown; key?: unknown; details?: unknown };
  const raw = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(e.code) ? e.code : undefined;
  if (code === 'misconfigured' || isConfigFailure(raw)) return { message: MISCONFIGURED_MESSAGE, code: 'misconfigured' };
  const shaped: JobError = { message: userMessage(raw) || 'the job failed' };
  if (code) shaped.code = code;
  if (typeof e.key === 'string') shaped.key = e.key;
  const { issues, moreIssues } = (e.details ?? {}) as { issues?: unknown; moreIssues?: unknown };
  if (Array.isArray(issues)) {
    const clean = issues
      .filter((i): i is { path: string; message: string } => typeof i?.path === 'string' && typeof i?.message === 'string')
      .map((i) => ({ path: i.path, message: userMessage(i.message) }));
    shaped.details = typeof moreIssues === 'number' ? { issues: clean, moreIssues } : { issues: clean };
  }
  return boundJobError(shaped);
}
