import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { repoRoot, startHostProcess, type HostProcess } from '../support/hostProcess';

// The detail of a failing check (its error text) is for the admin key; anonymous callers see check names and statuses.
const ADMIN_API_KEY = 'health-test-admin-key-0123456789';
const asAdmin = { headers: { 'x-functions-key': ADMIN_API_KEY } };

describe('GET /api/health on the real app', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const hosts: HostProcess[] = [];
  before(async () => {
    db = await createTestDatabase('health');
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await db?.drop();
  });

  it('answers 200 healthy when the database, the queue and the Durable backend answer', async () => {
    const host = await startHostProcess({ appDir: repoRoot, databaseUrl: db.url, storage: testStorageConnectionString(), env: { ADMIN_API_KEY } });
    hosts.push(host);
    const res = await fetch(`${host.url}/api/health`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'healthy');
  });

  it('answers 503 naming the durable check when the task hub stops answering', async () => {
    // The healthy host of the first test (task hub and app data in one database).
    const host = hosts[0];
    assert.ok(host, 'the first test started a host');
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      // The Durable backend hangs: its instance table is locked by another session; the app's own queries still answer.
      await locker.query('begin');
      await locker.query('lock table durabletask.instances in access exclusive mode');
      const res = await fetch(`${host.url}/api/health`, asAdmin);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { status: string; checks: Record<string, { status: string; detail?: string }> };
      assert.equal(body.status, 'unhealthy');
      assert.equal(body.checks.durable?.status, 'failed');
      assert.match(body.checks.durable?.detail ?? '', /no answer within/);
      assert.equal(body.checks.database?.status, 'ok');
      assert.equal(body.checks.queue?.status, 'ok');
      await locker.query('rollback');
      assert.equal((await fetch(`${host.url}/api/health`)).status, 200, 'healthy again once the task hub answers');
    } finally {
      await locker.end().catch(() => undefined);
    }
  });

  it('answers 503 naming the failing check when the app database is down', async () => {
    const host = await startHostProcess({
      appDir: repoRoot,
      databaseUrl: 'postgres://postgres:postgres@127.0.0.1:1/nowhere',
      storage: testStorageConnectionString(),
      // The task hub keeps working; only the app's own database is unreachable.
      env: { LONGHAUL_DURABLE_DATABASE_URL: db.url },
    });
    hosts.push(host);
    const res = await fetch(`${host.url}/api/health`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string; detail?: string }> };
    assert.equal(body.status, 'unhealthy');
    assert.equal(body.checks.database?.status, 'failed');
    assert.equal(body.checks.queue?.status, 'ok');
    assert.equal(body.checks.durable?.status, 'ok');
  });

  it('answers 503 when the storage account is unreachable', async () => {
    const host = await startHostProcess({
      appDir: repoRoot,
      databaseUrl: db.url,
      storage: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
    });
    hosts.push(host);
    const res = await fetch(`${host.url}/api/health`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    assert.equal(body.checks.queue?.status, 'failed');
    assert.equal(body.checks.database?.status, 'ok');
  });

  it('answers 503 naming the missing setting (to the admin key) when the configured AI provider has no key', async () => {
    const host = await startHostProcess({ appDir: repoRoot, databaseUrl: db.url, storage: testStorageConnectionString(), env: { AI_PROVIDER: 'gemini', ADMIN_API_KEY } });
    hosts.push(host);
    const res = await fetch(`${host.url}/api/health`, asAdmin);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { checks: Record<string, { status: string; detail?: string }> };
    assert.equal(body.checks.ai?.status, 'failed');
    assert.match(body.checks.ai?.detail ?? '', /GEMINI_API_KEY is missing/);
  });
});
