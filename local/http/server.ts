/**
 * The host's HTTP front end: function routes under the route prefix (ASP.NET templates, methods, auth levels),
 * the Durable management API (under /runtime/webhooks/durabletask, with the Durable system key or the master key on
 * every call, from loopback too), and the host status endpoint. Answers mirror the Functions host: unknown route or
 * method → 404 with an empty body, missing or wrong key → 401, handler error → 500, body too large → 413.
 *
 * Being on 127.0.0.1 is no protection on a developer's machine: any web page the developer opens can send requests
 * there, and a DNS-rebound name makes them same-origin. So a request whose Host header is not this host (127.0.0.1,
 * localhost or [::1] with our port, or a configured public name) is refused with 421, and the host's own
 * state-changing routes (Durable API, /admin) take JSON only (415 otherwise), which a cross-site page cannot send
 * without a CORS preflight that this host never grants.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compareRoutes, compileRoute, type CompiledRoute } from './routeTemplate';
import { DURABLE_SYSTEM_KEY, keyAllows, systemKeyAllows, type AuthLevel, type HostKeys } from './keys';
import type { ApiResponse, ManagementApi } from '../durable/managementApi';
import type { RpcHttpData } from '../host/rpc';
import type { HostLogger } from '../host/logger';

export interface HttpRoute {
  functionName: string;
  route: CompiledRoute;
  methods: Set<string>;
  authLevel: AuthLevel;
}

export interface HttpFrontEndOptions {
  routePrefix: string;
  maxRequestBodyBytes: number;
  keys: HostKeys;
  /** Host header values accepted besides 127.0.0.1/localhost/[::1] with the listening port (e.g. a tunnel's name). */
  publicHosts?: readonly string[];
  durableApi: () => ManagementApi | undefined;
  invoke(functionName: string, request: RpcHttpData): Promise<RpcHttpData | undefined>;
  log: HostLogger;
}

const DURABLE_PUBLIC = '/runtime/webhooks/durabletask';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class HttpFrontEnd {
  #routes: HttpRoute[] = [];
  #server: Server | undefined;
  #hosts = new Set<string>();

  constructor(private readonly opts: HttpFrontEndOptions) {}

  addRoute(functionName: string, template: string, methods: string[] | undefined, authLevel: AuthLevel): HttpRoute {
    const route: HttpRoute = {
      functionName,
      route: compileRoute(template),
      methods: new Set((methods ?? ['GET', 'POST']).map((m) => m.toUpperCase())),
      authLevel,
    };
    this.#routes.push(route);
    this.#routes.sort((a, b) => compareRoutes(a.route, b.route));
    return route;
  }

  get routes(): readonly HttpRoute[] {
    return this.#routes;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.opts.log.error(`unhandled error serving ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    // Long-running requests (e.g. wait-for-completion) must not be cut by Node's default request timeout.
    server.requestTimeout = 0;
    server.keepAliveTimeout = 5000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A burst of clients (1,000 submissions at once) must queue, not be refused: Node's default backlog is 511.
      server.listen({ port, host, backlog: 4096 }, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    this.#hosts = allowedHosts(bound, this.opts.publicHosts ?? []);
    return bound;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a page on attacker.example re-pointed at 127.0.0.1 still sends `Host: attacker.example`.
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!this.#hosts.has(hostHeader)) return send(res, { status: 421, body: { Message: `This host does not serve '${hostHeader}'` } }, true);
    const url = new URL(req.url ?? '/', `http://${hostHeader}`);
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const presentedKey = url.searchParams.get('code') ?? header(req, 'x-functions-key');

    const durable = path === DURABLE_PUBLIC || path.startsWith(`${DURABLE_PUBLIC}/`);
    if (durable || path === '/admin' || path.startsWith('/admin/')) {
      const allowed = durable
        ? systemKeyAllows(this.opts.keys, DURABLE_SYSTEM_KEY, presentedKey ?? undefined)
        : keyAllows(this.opts.keys, 'admin', presentedKey ?? undefined);
      if (!allowed) return send(res, { status: 401 });
      if (!READ_METHODS.has(method) && !jsonOrNothing(req)) {
        return send(res, { status: 415, body: { Message: "Only the 'application/json' media type is supported" } }, true);
      }
      if (durable) return this.#durable(req, res, url, path.slice(DURABLE_PUBLIC.length));
      if (path === '/admin/host/status') return send(res, { status: 200, body: { state: 'Running', version: 'longhaul-local' } });
      return send(res, { status: 404 });
    }
    if (path === '/' && method === 'GET') {
      return send(res, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from('<!doctype html><title>longhaul</title><p>Your Functions app is up and running (longhaul local host).</p>') });
    }

    const prefix = this.opts.routePrefix ? `/${this.opts.routePrefix}` : '';
    if (prefix && path.toLowerCase() !== prefix.toLowerCase() && !path.toLowerCase().startsWith(`${prefix.toLowerCase()}/`)) {
      return send(res, { status: 404 });
    }
    const routePath = path.slice(prefix.length);
    let matched: { route: HttpRoute; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      const params = route.route.match(routePath);
      // As in the Functions host, a route whose methods exclude this verb does not match at all (404, not 405).
      if (params && route.methods.has(method)) {
        matched = { route, params };
        break;
      }
    }
    if (!matched) return send(res, { status: 404 });
    if (!keyAllows(this.opts.keys, matched.route.authLevel, presentedKey ?? undefined)) return send(res, { status: 401 });

    const body = await readBody(req, this.opts.maxRequestBodyBytes);
    if (body === 'too-large') return send(res, { status: 413 }, true);

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    const rpcRequest: RpcHttpData = {
      method,
      url: url.toString(),
      headers,
      query,
      params: matched.params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    };
    let response: RpcHttpData | undefined;
    try {
      response = await this.opts.invoke(matched.route.functionName, rpcRequest);
    } catch {
      // The invocation already logged the error; like the host, clients get a bare 500.
      return send(res, { status: 500 });
    }
    if (!response) return send(res, { status: 204 });
    writeRpcResponse(res, response);
  }

  async #durable(req: IncomingMessage, res: ServerResponse, url: URL, rest: string): Promise<void> {
    const api = this.opts.durableApi();
    if (!api) return send(res, { status: 404 });
    const body = await readBody(req, this.opts.maxRequestBodyBytes);
    if (body === 'too-large') return send(res, { status: 413 }, true);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const result = await api.handle({
      method: req.method ?? 'GET',
      segments: rest.split('/').filter((s) => s.length > 0),
      query: url.searchParams,
      headers,
      body,
      url: url.toString(),
    });
    send(res, result);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Host header values this host answers to: its loopback names with its port (bare on port 80) and any public names. */
function allowedHosts(port: number, publicHosts: readonly string[]): Set<string> {
  const hosts = new Set(publicHosts.map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const name of ['127.0.0.1', 'localhost', '[::1]']) {
    hosts.add(`${name}:${port}`);
    if (port === 80) hosts.add(name);
  }
  return hosts;
}

/**
 * A state-changing request either says it sends JSON or sends nothing at all. Anything else (text/plain, a form) is
 * what a cross-site page can send without a preflight.
 */
function jsonOrNothing(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined) return Number(req.headers['content-length'] ?? '0') === 0 && req.headers['transfer-encoding'] === undefined;
  const media = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(media);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, response: ApiResponse, close = false): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: Buffer | undefined;
  if (Buffer.isBuffer(response.body)) payload = response.body;
  else if (response.body !== undefined) {
    payload = Buffer.from(JSON.stringify(response.body));
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  if (close) headers.connection = 'close';
  headers['content-length'] = String(payload?.length ?? 0);
  res.writeHead(response.status, headers);
  res.end(payload);
}

/** Writes the RPC HTTP response a handler produced (library toRpcHttp) to the wire. */
function writeRpcResponse(res: ServerResponse, http: RpcHttpData): void {
  const status = Number(http.statusCode ?? '200') || 200;
  const headers: Record<string, string | string[]> = { ...(http.headers ?? {}) };
  const cookies = (http.cookies ?? []).map((c) => serializeCookie(c as RpcCookie));
  if (cookies.length) headers['set-cookie'] = cookies;
  const body = http.body;
  let payload: Buffer = Buffer.alloc(0);
  if (body?.bytes) payload = Buffer.from(body.bytes);
  else if (typeof body?.string === 'string') payload = Buffer.from(body.string);
  if (status === 204 || status === 205 || status === 304) payload = Buffer.alloc(0);
  headers['content-length'] = String(payload.length);
  res.writeHead(status, headers);
  res.end(payload);
}

interface RpcCookie {
  name: string;
  value: string;
  domain?: { value?: string };
  path?: { value?: string };
  expires?: { value?: { seconds?: number } };
  secure?: { value?: boolean };
  httpOnly?: { value?: boolean };
  sameSite?: string | number;
  maxAge?: { value?: number };
}

function serializeCookie(c: RpcCookie): string {
  const parts = [`${c.name}=${c.value}`];
  if (c.domain?.value) parts.push(`Domain=${c.domain.value}`);
  if (c.path?.value) parts.push(`Path=${c.path.value}`);
  if (c.expires?.value?.seconds !== undefined) parts.push(`Expires=${new Date(c.expires.value.seconds * 1000).toUTCString()}`);
  if (c.maxAge?.value !== undefined) parts.push(`Max-Age=${c.maxAge.value}`);
  if (c.secure?.value) parts.push('Secure');
  if (c.httpOnly?.value) parts.push('HttpOnly');
  const sameSite = String(c.sameSite ?? '').toLowerCase();
  if (sameSite === 'lax' || sameSite === '1') parts.push('SameSite=Lax');
  else if (sameSite === 'strict' || sameSite === '2') parts.push('SameSite=Strict');
  else if (sameSite === 'explicitnone' || sameSite === '3') parts.push('SameSite=None');
  return parts.join('; ');
}
