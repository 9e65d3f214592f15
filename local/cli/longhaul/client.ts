/** The HTTP API as the CLI calls it: one JSON request, the body exactly as the server sent it, errors as classes. */
import type { Connection } from './config';
import { ApiError, NetworkError } from './errors';

// A request the server does not answer within this long is a failure worth reporting, not a hang.
const REQUEST_TIMEOUT_MS = 30_000;

/** The one call the commands make. */
export interface ApiClient {
  /** Calls `path` (e.g. `/api/jobs`) and returns the parsed JSON body of a 2xx answer; throws ApiError otherwise. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** A client sending the connection's credential: x-functions-key for a key, Authorization: Bearer for a token. */
export function createClient(conn: Connection): ApiClient {
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (conn.auth.type === 'key') headers['x-functions-key'] = conn.auth.key;
      else headers.authorization = `Bearer ${conn.auth.token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${conn.baseUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        text = await res.text();
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new NetworkError(`${method} ${conn.baseUrl}${path}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      let parsed: unknown = text;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          if (res.ok) throw new NetworkError(`${method} ${path}: HTTP ${res.status} answered something that is not JSON`);
        }
      }
      if (!res.ok) throw new ApiError(res.status, parsed);
      return parsed as T;
    },
  };
}
