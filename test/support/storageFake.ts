/**
 * A stand-in for Supabase Storage's HTTP API as supabase-js calls it (service-role uploads, signed URLs, downloads),
 * keeping objects in memory; what tests read back went through the official client's real requests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredFakeObject {
  body: Buffer;
  contentType: string;
}

export interface StorageFake {
  /** SUPABASE_URL for the app. */
  url: string;
  objects: Map<string, StoredFakeObject>;
  /** Every request: method, path, headers, and the expiresIn of sign requests. */
  requests: { method: string; path: string; headers: IncomingHttpHeaders; expiresIn?: number }[];
  close(): Promise<void>;
}

export async function startStorageFake(opts: { serviceRoleKey: string }): Promise<StorageFake> {
  const objects = new Map<string, StoredFakeObject>();
  const tokens = new Map<string, string>();
  const requests: StorageFake['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = decodeURIComponent(url.pathname);
      const body = Buffer.concat(chunks);
      const entry: StorageFake['requests'][number] = { method: req.method ?? '', path, headers: req.headers };
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
      if (req.headers.authorization !== `Bearer ${opts.serviceRoleKey}`) return send(403, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
      if (signed && req.method === 'POST') {
        entry.expiresIn = (JSON.parse(body.toString('utf8') || '{}') as { expiresIn?: number }).expiresIn;
        if (!objects.has(signed[1]!)) return notFound();
        const token = randomBytes(8).toString('hex');
        tokens.set(token, signed[1]!);
        return send(200, { signedURL: `/object/sign/${signed[1]}?token=${token}` });
      }
      const object = /^\/storage\/v1\/object\/(?:authenticated\/)?(.+)$/.exec(path);
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
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
