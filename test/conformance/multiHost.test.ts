import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { conformanceAppDir, eventually, startHostProcess, testKeys, type HostProcess } from '../support/hostProcess';
import { DurableApi } from '../support/durableApi';

describe('local host: several processes on one database, and crash safety', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: Client;
  const keys = testKeys();
  const hosts: HostProcess[] = [];
  const start = async (): Promise<HostProcess> => {
    const host = await startHostProcess({ appDir: conformanceAppDir(), databaseUrl: db.url, storage: testStorageConnectionString(), keys });
    hosts.push(host);
    return host;
  };

  before(async () => {
    db = await createTestDatabase('multihost');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.kill()));
    await sql?.end();
    await db?.drop();
  });

  /** Runs per activity item, and which processes ran them. */
  const runs = async (run: string): Promise<{ key: string; pid: number }[]> =>
    (await sql.query<{ key: string; pid: number }>(`select key, (payload->>'pid')::int as pid from conformance_log where kind = 'activity' and key like $1`, [`${run}:%`])).rows;

  /** TaskCompleted events in the instance's history, by scheduled id. */
  const completions = async (instanceId: string): Promise<number[]> =>
    (await sql.query<{ id: number }>(
      `select (event::json->>'TaskScheduledId')::int as id from durabletask.history where instance_id = $1 and (event::json->>'EventType')::int = 5`,
      [instanceId],
    )).rows.map((r) => r.id);

  it('two host processes complete a 2,000-activity fan-out together, each activity run exactly once', async () => {
    const [a, b] = [await start(), await start()];
    const api = new DurableApi(a!.url, keys.masterKey);
    const id = await api.start('FanOut', { n: 2000, run: 'shared', tracked: true, delayMs: 2 });
    const status = await api.waitForEnd(id, 180_000);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.deepEqual(status.output, Array.from({ length: 2000 }, (_, i) => i * 2));
    const rows = await runs('shared');
    assert.equal(rows.length, 2000, 'each activity ran once');
    assert.equal(new Set(rows.map((r) => r.key)).size, 2000);
    const pids = new Set(rows.map((r) => r.pid));
    assert.ok(pids.has(a!.child.pid!) && pids.has(b!.child.pid!), 'both hosts ran activities');
    await Promise.all([a!.stop(), b!.stop()]);
  });

  it('survives kill -9 mid-run: after a restart the orchestration completes, every completion applied once', async () => {
    const first = await start();
    const api1 = new DurableApi(first.url, keys.masterKey);
    const id = await api1.start('FanOut', { n: 300, run: 'crash', tracked: true, delayMs: 20 });
    await eventually(async () => ((await runs('crash')).length >= 60 ? true : undefined), 60_000, 'work in progress');
    await first.kill();
    const before = (await runs('crash')).length;
    assert.ok(before < 300, `the crash happened mid-run (${before} of 300 done)`);

    const second = await start();
    const api2 = new DurableApi(second.url, keys.masterKey);
    const status = await api2.waitForEnd(id, 120_000);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.deepEqual(status.output, Array.from({ length: 300 }, (_, i) => i * 2));
    // At-least-once: some activities may have run twice around the crash, but none was completed twice.
    const ids = await completions(id);
    assert.equal(ids.length, 300);
    assert.equal(new Set(ids).size, 300);
    assert.equal(new Set((await runs('crash')).map((r) => r.key)).size, 300);
    await second.stop();
  });

  it('shuts down gracefully on SIGTERM, finishing in-flight activities, and another host resumes the rest', async () => {
    const first = await start();
    const api = new DurableApi(first.url, keys.masterKey);
    const id = await api.start('FanOut', { n: 200, run: 'graceful', tracked: true, delayMs: 30 });
    await eventually(async () => ((await runs('graceful')).length >= 20 ? true : undefined), 60_000, 'work in progress');
    await first.stop();
    assert.equal(first.child.exitCode, 0);
    const second = await start();
    const status = await new DurableApi(second.url, keys.masterKey).waitForEnd(id, 120_000);
    assert.equal(status.runtimeStatus, 'Completed');
    // A graceful stop finishes what it started, so nothing ran twice.
    const rows = await runs('graceful');
    assert.equal(rows.length, 200);
    await second.stop();
  });
});
