/**
 * The HTTP edge of the API in one place: body parsing with zod (errors name the field), AppError -> status mapping,
 * the `{error: {code, message, details?}}` shape. Function files stay wiring.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { getConfig } from '../config';
import { AppError, PayloadTooLargeError, TooManyJsonValuesError, ValidationError } from '../errors';
import { jsonValuesOver, MAX_JSON_VALUES } from '../pgText';

/** A JSON answer; nosniff so no browser ever reads an API body (which echoes user text) as HTML or script. */
export function json(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } };
}

export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (err instanceof AppError) {
    return json(err.status, { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
  }
  // Unexpected: log it with the invocation, tell the caller only that it happened.
  context.error(`unhandled error: ${(err as Error).stack ?? String(err)}`);
  return json(500, { error: { code: 'internal', message: `internal error (invocation ${context.invocationId})` } });
}

/** Wraps a handler so every thrown AppError becomes its status code; a body declared too large is 413 before anything runs. */
export function withErrors<A extends unknown[]>(
  handler: (request: HttpRequest, ...rest: [...A, InvocationContext]) => Promise<HttpResponseInit>,
): (request: HttpRequest, ...rest: [...A, InvocationContext]) => Promise<HttpResponseInit> {
  return async (request, ...rest) => {
    try {
      refuseDeclaredOversize(request, maxBodyBytes());
      return await handler(request, ...rest);
    } catch (err) {
      return errorResponse(err, rest[rest.length - 1] as InvocationContext);
    }
  };
}

export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`)).join('') || '(body)', message: i.message }));
}

function maxBodyBytes(): number {
  return getConfig().http.maxRequestBodyBytes;
}

function refuseDeclaredOversize(request: HttpRequest, limit: number): void {
  const declared = Number(request.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(limit);
}

/**
 * The body as text, at most `limit` bytes (MAX_REQUEST_BODY_MB): the declared Content-Length is checked first, then
 * the bytes actually read (a chunked upload declares nothing), so an oversized body is never parsed.
 */
export async function readText(request: HttpRequest, limit = maxBodyBytes()): Promise<string> {
  refuseDeclaredOversize(request, limit);
  if (!request.body) return '';
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body against a schema; 400 naming the field when it does not fit, 413 when it is too large or holds too many values. */
export async function readBody<T>(request: HttpRequest, schema: z.ZodType<T>): Promise<T> {
  const text = await readText(request);
  // Counted on the text: a body of millions of tiny values is refused before V8 or Postgres holds it parsed.
  if (jsonValuesOver(text, MAX_JSON_VALUES)) throw new TooManyJsonValuesError(MAX_JSON_VALUES);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ValidationError('body: must be a JSON document', [{ path: '(body)', message: 'not valid JSON' }]);
  }
  return parseWith(schema, body);
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new ValidationError(`${issues[0]?.path}: ${issues[0]?.message}`, issues);
  }
  return parsed.data;
}

/** Query parameters as a plain object (for zod). */
export function queryObject(request: HttpRequest): Record<string, string> {
  return Object.fromEntries(request.query.entries());
}

export function credentialsOf(request: HttpRequest): { authorization: string | null; functionsKey: string | null; code: string | null } {
  return { authorization: request.headers.get('authorization'), functionsKey: request.headers.get('x-functions-key'), code: request.query.get('code') };
}
