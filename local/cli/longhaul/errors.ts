import { show } from './terminal';

/** Exit codes of the `longhaul` CLI (docs/cli.md): scripts branch on these, so they never change meaning. */
export const EXIT = {
  ok: 0,
  /** The job ended failed or cancelled (watch, submit --watch). */
  jobFailed: 1,
  /** Bad arguments or options, unreadable input, or the API answered 400 invalid_input. */
  usage: 2,
  notFound: 3,
  /** 401 or 403: missing, wrong or insufficient credentials. */
  auth: 4,
  insufficientCredits: 5,
  /** Any other API answer (500, 503, unexpected bodies) or a network failure. */
  api: 6,
  /** 409: cancel of a finished job, retry of a job that is not failed or cancelled. */
  conflict: 7,
  interrupted: 130,
} as const;

/** A mistake in how the CLI was called; exit 2 with the command's usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The API's error body. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string; message: string }[] } & Record<string, unknown> };
}

/** A non-2xx answer from the API, with its body exactly as sent. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(messageOf(status, body));
  }

  get exitCode(): number {
    return exitCodeForStatus(this.status);
  }
}

/** The server could not be reached or answered something that is not JSON. */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/** The documented exit code for an HTTP status. */
export function exitCodeForStatus(status: number): number {
  if (status === 400) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 402) return EXIT.insufficientCredits;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.api;
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  const e = (body as { error?: unknown } | null)?.error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

/** The API's error as terminal lines: the server's text is shown inert (it may echo a user's input). */
function messageOf(status: number, body: unknown): string {
  if (!isApiErrorBody(body)) return `HTTP ${status}${typeof body === 'string' && body ? `: ${show(body.slice(0, 200))}` : ''}`;
  const lines = [`${show(body.error.code ?? 'error')} (HTTP ${status}): ${show(body.error.message)}`];
  for (const issue of body.error.details?.issues ?? []) lines.push(`  ${show(issue.path)}: ${show(issue.message)}`);
  return lines.join('\n');
}
