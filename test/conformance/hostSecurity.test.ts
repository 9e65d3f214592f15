import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Client } from 'pg';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { conformanceAppDir, eventually, startHostProcess, testKeys, type HostProcess } from '../support/hostProcess';
import { DurableApi } from '../support/durableApi';
import { DURABLE_SYSTEM_KEY, generateKey, type HostKeys } from '../../local/http/keys';

/** A raw request, so the Host header is exactly what a DNS-rebound browser page would send. */
function rawRequest(url: string, opts: { method?: string; host?: string; headers?: Record<string, string>; body?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('local host: keys, Host header and media types', () => {
  let host: HostProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const keys: HostKeys = { ...testKeys(), systemKeys: { [DURABLE_SYSTEM_KEY]: generateKey() } };
  const systemKey = keys.systemKeys![DURABLE_SYSTEM_KEY]!;

  before(async () => {
    db = await createTestDatabase('hostsecurity');
    host = await startHostProcess({
      appDir: conformanceAppDir(),
      databaseUrl: db.url,
      storage: testStorageConnectionString(),
      keys,
      env: { LONGHAUL_PUBLIC_HOSTS: 'longhaul.tunnel.test' },
    });
  });
  after(async () => {
    await host?.stop();
    await db?.drop();
  });

  it('answers the Durable management API only with a key, from loopback too, and serves no keyless rpc path', async () => {
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/`)).status, 401);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/Single`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"x"' })).status, 401);
    // The SDK's keyless rpc path is not served at all: the app's client uses the keyed URLs of its binding.
    assert.equal((await fetch(`${host.url}/durabletask/instances/`)).status, 404);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/?code=${systemKey}`)).status, 200);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/?code=${keys.masterKey}`)).status, 200);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/?code=${keys.hostKeys.default}`)).status, 401, 'a host key is not enough');
  });

  it('hands the app the Durable system key, never the master key: a check-status 202 opens the instance and nothing else', async () => {
    const res = await fetch(`${host.url}/api/start/Single`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'key' }) });
    assert.equal(res.status, 202);
    const text = await res.text();
    assert.ok(!text.includes(keys.masterKey), 'the master key is not in the response');
    const check = JSON.parse(text) as { statusQueryGetUri: string };
    const code = new URL(check.statusQueryGetUri).searchParams.get('code');
    assert.equal(code, systemKey);
    assert.ok([200, 202].includes((await fetch(check.statusQueryGetUri)).status), 'the status URL works');
    assert.equal((await fetch(`${host.url}/api/admin-only?code=${code}`)).status, 401, 'not an admin key');
    assert.equal((await fetch(`${host.url}/api/items/5?code=${code}`)).status, 401, 'not a function key');
    assert.equal((await fetch(`${host.url}/admin/host/status?code=${code}`)).status, 401, 'not the host admin API');
  });

  it('refuses a Host header that is not this host (DNS rebinding) with 421, on every route', async () => {
    const port = new URL(host.url).port;
    const durable = `${host.url}/runtime/webhooks/durabletask/instances/?code=${keys.masterKey}`;
    assert.equal(await rawRequest(`${host.url}/api/open`, { host: `rebind.attacker.test:${port}` }), 421);
    assert.equal(await rawRequest(durable, { host: `rebind.attacker.test:${port}` }), 421);
    assert.equal(await rawRequest(`${host.url}/api/open`, { host: '127.0.0.1:1' }), 421, 'another port is another origin');
    for (const name of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'longhaul.tunnel.test']) {
      assert.equal(await rawRequest(`${host.url}/api/open`, { host: name }), 200, name);
    }
    assert.equal(await rawRequest(durable, { host: `localhost:${port}` }), 200);
  });

  it('takes only JSON on the host\'s own state-changing routes: a cross-site text/plain or form POST gets 415 and changes nothing', async () => {
    const api = new DurableApi(host.url, keys.masterKey);
    const start = api.url('orchestrators/Single/plain-1');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await fetch(start, { method: 'POST', headers: { 'content-type': type }, body: '"x"' });
      assert.equal(res.status, 415, type);
    }
    assert.equal((await fetch(start, { method: 'POST', body: new Blob(['"x"']) })).status, 415, 'a body without a type');
    assert.equal(await api.status('plain-1'), undefined, 'no instance was created');
    assert.equal((await fetch(`${host.url}/admin/host/status?code=${keys.masterKey}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status, 415);
    assert.equal((await fetch(start, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '"x"' })).status, 202);
    assert.equal((await api.waitForEnd('plain-1')).output, 'Hello x!');
    // The public API is the app's business: its JSON clients and webhook senders are unaffected.
    assert.equal((await fetch(`${host.url}/api/items/5?code=${keys.hostKeys.default}`, { method: 'POST', body: 'hi' })).status, 201);
  });
});

describe('local host: a function timeout ends the host process', () => {
  let host: HostProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: Client;

  before(async () => {
    db = await createTestDatabase('timeoutexit');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    host = await startHostProcess({
      appDir: conformanceAppDir(),
      databaseUrl: db.url,
      storage: testStorageConnectionString(),
      // The app setting Azure reads to override host.json's functionTimeout.
      env: { AzureFunctionsJobHost__functionTimeout: '00:00:01' },
    });
  });
  after(async () => {
    await host?.kill();
    await sql?.end();
    await db?.drop();
  });

  it('exits non-zero naming the function and the timeout, and the timed-out code never finishes', async () => {
    const api = new DurableApi(host.url, host.keys.masterKey);
    const startedAt = Date.now();
    await api.start('FanOut', { n: 1, run: 'slow', delayMs: 3000, tracked: true });
    const code = await eventually(async () => host.child.exitCode ?? undefined, 20_000, `the host to exit:\n${host.output()}`);
    const exitedAfter = Date.now() - startedAt;
    assert.equal(code, 124, host.output());
    assert.match(host.output(), /Timeout value of 00:00:01 was exceeded by function: Functions\.Tracked \(functionTimeout 1000 ms\): ending the host process/);
    assert.ok(exitedAfter < 3000, `the host ended (after ${exitedAfter} ms) before the activity's 3 s of work`);
    // Past the moment the activity would have written its record: nothing ran on after the timeout.
    await new Promise((r) => setTimeout(r, 3500 - exitedAfter));
    const rows = await sql.query("select 1 from conformance_log where kind = 'activity' and key = 'slow:0'").catch(() => ({ rowCount: 0 }));
    assert.equal(rows.rowCount, 0);
  });

});
