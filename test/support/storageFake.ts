/**
 * A stand-in for Supabase Storage's HTTP API as supabase-js calls it (uploads, signed URLs, downloads, listing,
 * deleting), keeping objects in memory; what tests read back went through the official client's real requests. Like
 * Storage, it decodes the request path once into the object name; with `jwtSecret` it also accepts signed-in users'
 * tokens and applies the recordings bucket's policy (a user reads only objects under their own id's folder).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type JWTPayload } from 'jose';

export interface StoredFakeObject {
  body: Buffer;
  contentType: string;
}

export interface StorageFake {
  /** SUPABASE_URL for the app. */
  url: string;
  objects: Map<string, StoredFakeObject>;
  /**
   * Every request: method, path (decoded once, as Storage names the object), rawPath (as it arrived on the wire),
   * headers, the expiresIn of sign requests, and the verified claims of a user token.
   */
  requests: { method: string; path: string; rawPath: string; headers: IncomingHttpHeaders; expiresIn?: number; user?: JWTPayload }[];
  /** The project's JWT secret, for user tokens (settable once the app under test has generated it). */
  jwtSecret?: string;
  close(): Promise<void>;
}

/** Who a request is: the service role, a user (token verified with jwtSecret), or nobody Storage would accept. */
async function caller(authorization: string | undefined, opts: { serviceRoleKey: string; jwtSecret?: string | undefined }): Promise<'service' | JWTPayload | undefined> {
  if (authorization === `Bearer ${opts.serviceRoleKey}`) return 'service';
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (!token || !opts.jwtSecret) return undefined;
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(opts.jwtSecret), { algorithms: ['HS256'], audience: 'authenticated' });
    return payload.role === 'authenticated' && typeof payload.sub === 'string' ? payload : undefined;
  } catch {
    return undefined;
  }
}

export async function startStorageFake(opts: { serviceRoleKey: string; jwtSecret?: string }): Promise<StorageFake> {
  const objects = new Map<string, StoredFakeObject>();
  const tokens = new Map<string, string>();
  const requests: StorageFake['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const handle = async (): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://x');
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const path = decodeURIComponent(url.pathname);
      const body = Buffer.concat(chunks);
      const entry: StorageFake['requests'][number] = { method: req.method ?? '', path, rawPath, headers: req.headers };
      requests.push(entry);
      const send = (status: number, json: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      const notFound = (): void => send(400, { statusCode: '404', error: 'not_found', message: 'Object not found' });
      // Signed downloads carry their own token instead of the service role.
      const signed = /^\/storage\/v1\/object\/sign\/(.+)$/.exec(path);
      if (signed && req.method === 'GET') {
        if (tokens.get(url.searchParams.get('token') ?? '') !== signed[1]) return void res.writeHead(403).end();
        const object = objects.get(signed[1]!);
        if (!object) return notFound();
        return void res.writeHead(200, { 'content-type': object.contentType, 'content-length': String(object.body.length) }).end(object.body);
      }
      const who = await caller(req.headers.authorization, { serviceRoleKey: opts.serviceRoleKey, jwtSecret: fake.jwtSecret });
      if (!who) return send(403, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
      if (who !== 'service') entry.user = who;
      // The recordings policy: a user sees only recordings/<their id>/…; anything else does not exist for them.
      const visible = (name: string): boolean => who === 'service' || name.startsWith(`recordings/${String(who.sub)}/`);
      if (signed && req.method === 'POST') {
        entry.expiresIn = (JSON.parse(body.toString('utf8') || '{}') as { expiresIn?: number }).expiresIn;
        if (!objects.has(signed[1]!) || !visible(signed[1]!)) return notFound();
        const token = randomBytes(8).toString('hex');
        tokens.set(token, signed[1]!);
        return send(200, { signedURL: `/object/sign/${signed[1]}?token=${token}` });
      }
      // Listing one folder: its files (with an id) and its subfolders (id null), by name, a page at a time.
      const list = /^\/storage\/v1\/object\/list\/([^/]+)$/.exec(path);
      if (list && req.method === 'POST') {
        const { prefix = '', limit = 100, offset = 0 } = JSON.parse(body.toString('utf8') || '{}') as { prefix?: string; limit?: number; offset?: number };
        const folder = `${list[1]}/${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}`;
        const entries = new Map<string, { name: string; id: string | null }>();
        for (const name of objects.keys()) {
          if (!name.startsWith(folder) || !visible(name)) continue;
          const [first, ...rest] = name.slice(folder.length).split('/');
          entries.set(first!, { name: first!, id: rest.length ? null : `id-${name}` });
        }
        return send(200, [...entries.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(offset, offset + limit));
      }
      const bucketOnly = /^\/storage\/v1\/object\/([^/]+)$/.exec(path);
      if (bucketOnly && req.method === 'DELETE') {
        const { prefixes = [] } = JSON.parse(body.toString('utf8') || '{}') as { prefixes?: string[] };
        const removed = prefixes.map((p) => `${bucketOnly[1]}/${p}`).filter((name) => visible(name) && objects.delete(name));
        return send(200, removed.map((name) => ({ name })));
      }
      const object = /^\/storage\/v1\/object\/(?:authenticated\/)?(.+)$/.exec(path);
      if (object && who !== 'service' && !visible(object[1]!)) return notFound();
      if (object && (req.method === 'POST' || req.method === 'PUT')) {
        if (objects.has(object[1]!) && req.headers['x-upsert'] !== 'true') return send(400, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
        objects.set(object[1]!, { body, contentType: String(req.headers['content-type'] ?? 'application/octet-stream') });
        return send(200, { Key: object[1] });
      }
      if (object && req.method === 'GET') {
        const found = objects.get(object[1]!);
        if (!found) return notFound();
        return void res.writeHead(200, { 'content-type': found.contentType }).end(found.body);
      }
      return notFound();
    };
    req.on('end', () => void handle());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fake: StorageFake = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    requests,
    jwtSecret: opts.jwtSecret,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return fake;
}
