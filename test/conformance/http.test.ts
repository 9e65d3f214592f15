import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { conformanceAppDir, startHostProcess, type HostProcess } from '../support/hostProcess';

describe('local host: HTTP triggers', () => {
  let host: HostProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async () => {
    db = await createTestDatabase('http');
    host = await startHostProcess({ appDir: conformanceAppDir(), databaseUrl: db.url, storage: testStorageConnectionString() });
  });
  after(async () => {
    await host?.stop();
    await db?.drop();
  });

  const key = (): string => host.keys.hostKeys.default ?? '';

  it('matches an ASP.NET route template with a constraint and an optional parameter, passing params, query, body and headers', async () => {
    const res = await fetch(`${host.url}/api/items/5/bob?q=1&code=${key()}`, { method: 'POST', body: 'hi', headers: { 'x-test': 'yes' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-a'), '1');
    assert.match(res.headers.get('set-cookie') ?? '', /^session=abc; HttpOnly; SameSite=Lax$/);
    assert.deepEqual(await res.json(), { params: { id: '5', name: 'bob' }, q: '1', body: 'hi', method: 'POST', header: 'yes', fn: 'echo' });
  });

  it('leaves an optional route parameter out when it is missing', async () => {
    const res = await fetch(`${host.url}/api/items/7`, { headers: { 'x-functions-key': key() } });
    assert.equal(res.status, 201);
    assert.deepEqual(((await res.json()) as { params: unknown }).params, { id: '7' });
  });

  it('answers 404 when a route constraint fails (id:int given "abc")', async () => {
    const res = await fetch(`${host.url}/api/items/abc?code=${key()}`);
    assert.equal(res.status, 404);
  });

  it('answers 404, as the Functions host does, for a known route with a method it does not allow', async () => {
    const res = await fetch(`${host.url}/api/items/5?code=${key()}`, { method: 'DELETE' });
    assert.equal(res.status, 404);
  });

  it('enforces function keys: none or a wrong one is 401, the host key and the master key pass', async () => {
    assert.equal((await fetch(`${host.url}/api/items/5`)).status, 401);
    assert.equal((await fetch(`${host.url}/api/items/5?code=wrong`)).status, 401);
    assert.equal((await fetch(`${host.url}/api/items/5?code=${host.keys.masterKey}`)).status, 201);
  });

  it('admits only the master key on admin-level routes', async () => {
    assert.equal((await fetch(`${host.url}/api/admin-only?code=${key()}`)).status, 401);
    assert.equal((await fetch(`${host.url}/api/admin-only?code=${host.keys.masterKey}`)).status, 200);
  });

  it('serves anonymous routes without a key and returns string bodies as text', async () => {
    const res = await fetch(`${host.url}/api/open`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.equal(await res.text(), 'open');
  });

  it('turns a handler exception into a bare 500 and keeps serving', async () => {
    const res = await fetch(`${host.url}/api/boom`);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), '');
    assert.equal((await fetch(`${host.url}/api/open`)).status, 200);
  });

  it('answers 204 when a handler returns nothing', async () => {
    assert.equal((await fetch(`${host.url}/api/nothing`)).status, 204);
  });

  it('answers 404 outside the route prefix and for unknown routes', async () => {
    assert.equal((await fetch(`${host.url}/open`)).status, 404);
    assert.equal((await fetch(`${host.url}/api/nope`)).status, 404);
  });

  it('rejects request bodies over the limit with 413', async () => {
    const big = Buffer.alloc(101 * 1024 * 1024, 1);
    const res = await fetch(`${host.url}/api/items/1?code=${key()}`, { method: 'POST', body: big }).catch(() => undefined);
    // The host may close the connection right after answering 413; either way the function never ran with it.
    if (res) assert.equal(res.status, 413);
    // The host is still serving. (The client may first pick the pooled socket the host just closed: one retry.)
    const open = await fetch(`${host.url}/api/open`).catch(() => fetch(`${host.url}/api/open`));
    assert.equal(open.status, 200);
  });

  it('protects the Durable webhook API with the master key and keeps the rpc endpoint for loopback', async () => {
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/x`)).status, 401);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/x?code=${host.keys.masterKey}`)).status, 404);
    assert.equal((await fetch(`${host.url}/durabletask/instances/x`)).status, 404);
  });
});
