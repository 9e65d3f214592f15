import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { conformanceAppDir, eventually, startHostProcess, type HostProcess } from '../support/hostProcess';
import { DurableApi } from '../support/durableApi';

describe('local host: Durable Functions on the Postgres task hub', () => {
  let host: HostProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: DurableApi;
  let sql: Client;

  before(async () => {
    db = await createTestDatabase('durable');
    host = await startHostProcess({ appDir: conformanceAppDir(), databaseUrl: db.url, storage: testStorageConnectionString() });
    api = new DurableApi(host.url, host.keys.masterKey);
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  after(async () => {
    await host?.stop();
    await sql?.end();
    await db?.drop();
  });

  it('runs an activity and completes with its output (string input encoding round-trips)', async () => {
    const id = await api.start('Single', 'Tokyo');
    const status = await api.waitForEnd(id);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.equal(status.output, 'Hello Tokyo!');
    assert.equal(status.input, 'Tokyo');
  });

  it('fans out 1,000 activities and returns all 1,000 results in order', async () => {
    const id = await api.start('FanOut', { n: 1000 });
    const status = await api.waitForEnd(id, 120_000);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.deepEqual(status.output, Array.from({ length: 1000 }, (_, i) => i));
  });

  it('retries 3 attempts with a 1 s first interval and coefficient 2: exactly 3 attempts, ~1 s then ~2 s apart', async () => {
    const id = await api.start('RetryThrice', null);
    const status = await api.waitForEnd(id, 30_000);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.match(String(status.output), /^caught: Activity function 'FailAlways' failed: attempt failed for /);
    const attempts = (await sql.query<{ at: Date }>(`select at from conformance_log where kind = 'attempt' and key = $1 order by id`, [id])).rows;
    assert.equal(attempts.length, 3);
    const gap1 = attempts[1]!.at.getTime() - attempts[0]!.at.getTime();
    const gap2 = attempts[2]!.at.getTime() - attempts[1]!.at.getTime();
    // Lower bounds are the policy; upper bounds leave room for a loaded 2-core CI machine, yet still tell 1 s from 2 s.
    assert.ok(gap1 >= 950 && gap1 < 2500, `first retry after ${gap1} ms`);
    assert.ok(gap2 >= 1950 && gap2 < 3500, `second retry after ${gap2} ms`);
  });

  it('delivers an external event raised before the orchestrator waits for it, with custom status', async () => {
    const id = await api.start('WaitForApproval', null);
    const raised = await api.post(`instances/${id}/raiseEvent/Approval`, { approvedBy: 'ann' });
    assert.equal(raised.status, 202);
    // The event is now queued; the orchestrator reaches waitForExternalEvent only after its 1.5 s timer.
    const waiting = await eventually(async () => {
      const status = await api.status(id);
      return status?.customStatus ? status : undefined;
    });
    assert.equal(waiting.runtimeStatus, 'Running');
    assert.deepEqual(waiting.customStatus, { stage: 'waiting' });
    const status = await api.waitForEnd(id);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.deepEqual(status.output, { approvedBy: 'ann' });
    assert.deepEqual(status.customStatus, { stage: 'approved' });
  });

  it('keeps history bounded with continueAsNew: 50 generations, history of the last one only', async () => {
    const id = await api.start('Counter', { n: 0, until: 50 });
    const status = await api.waitForEnd(id, 60_000);
    assert.equal(status.runtimeStatus, 'Completed');
    assert.equal(status.output, 50);
    const row = await sql.query<{ generation: number; count: string }>(
      `select i.generation, (select count(*) from durabletask.history h where h.instance_id = i.instance_id) as count
       from durabletask.instances i where instance_id = $1`,
      [id],
    );
    assert.equal(row.rows[0]?.generation, 49);
    assert.ok(Number(row.rows[0]?.count) <= 10, `last generation holds ${row.rows[0]?.count} events`);
  });

  it('reports a terminated instance as Terminated with its reason', async () => {
    const id = await api.start('Eternal', null);
    await eventually(async () => ((await api.status(id))?.runtimeStatus === 'Running' ? true : undefined));
    const res = await api.post(`instances/${id}/terminate`, undefined, { reason: 'no longer needed' });
    assert.equal(res.status, 202);
    const status = await api.waitForEnd(id);
    assert.equal(status.runtimeStatus, 'Terminated');
    assert.equal(status.output, 'no longer needed');
    assert.equal((await api.post(`instances/${id}/terminate`)).status, 410);
  });

  it('suspends (events are held) and resumes (events are delivered)', async () => {
    const id = await api.start('WaitForApproval', null);
    await eventually(async () => ((await api.status(id))?.runtimeStatus === 'Running' ? true : undefined));
    assert.equal((await api.post(`instances/${id}/suspend`, undefined, { reason: 'hold' })).status, 202);
    await eventually(async () => ((await api.status(id))?.runtimeStatus === 'Suspended' ? true : undefined));
    await api.post(`instances/${id}/raiseEvent/Approval`, 'late');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await api.status(id))?.runtimeStatus, 'Suspended');
    assert.equal((await api.post(`instances/${id}/resume`, undefined, { reason: 'go' })).status, 202);
    const status = await api.waitForEnd(id);
    assert.equal(status.output, 'late');
  });

  it('runs sub-orchestrations and surfaces a child failure to the parent', async () => {
    const ok = await api.waitForEnd(await api.start('Parent', { child: 'Single', value: 'kid' }));
    assert.deepEqual(ok.output, { ok: 'Hello kid!' });
    const failed = await api.waitForEnd(await api.start('Parent', { child: 'Failing', value: null }));
    assert.deepEqual(failed.output, { failed: "Orchestrator function 'Failing' failed: child exploded " });
  });

  it('fails an orchestration whose code throws, with the extension\'s message', async () => {
    const status = await api.waitForEnd(await api.start('Failing', null));
    assert.equal(status.runtimeStatus, 'Failed');
    assert.equal(status.output, "Orchestrator function 'Failing' failed: child exploded");
  });

  it('serves every DurableClient call the SDK makes (start, status, raise, suspend, resume, terminate, list, purge)', async () => {
    const started = await fetch(`${host.url}/api/start/WaitForApproval`, { method: 'POST', body: JSON.stringify({ instanceId: 'client-1' }) });
    assert.equal(started.status, 202);
    const check = (await started.json()) as { id: string; statusQueryGetUri: string };
    assert.equal(check.id, 'client-1');
    assert.ok(check.statusQueryGetUri.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/client-1?`));
    const op = async (name: string): Promise<Record<string, unknown>> =>
      (await (await fetch(`${host.url}/api/client/${name}/client-1`, { method: 'POST' })).json()) as Record<string, unknown>;
    await op('suspend');
    await eventually(async () => ((await op('status')).runtimeStatus === 'Suspended' ? true : undefined));
    await op('resume');
    await op('raise');
    await eventually(async () => ((await op('status')).runtimeStatus === 'Completed' ? true : undefined));
    assert.deepEqual((await op('status')).output, { approvedBy: 'test' });
    assert.ok(((await op('list')).count as number) >= 1);
    assert.deepEqual(await op('purge'), { instancesDeleted: 1 });
    assert.equal(await api.status('client-1'), undefined);
  });

  it('rejects a second start with the id of a running instance (409) and restarts a finished one', async () => {
    await api.start('Eternal', null, 'dup-1');
    assert.equal((await api.post('orchestrators/Eternal/dup-1', null)).status, 409);
    await api.post('instances/dup-1/terminate');
    await api.waitForEnd('dup-1');
    await api.start('Single', 'again', 'dup-1');
    assert.equal((await api.waitForEnd('dup-1')).output, 'Hello again!');
  });

  it('lets exactly one of many concurrent starts of one instance id win; the others get 409', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.post('orchestrators/Eternal/race-1', null)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409, 409, 409, 409, 409, 409, 409]);
    await eventually(async () => ((await api.status('race-1'))?.runtimeStatus === 'Running' ? true : undefined));
    await api.post('instances/race-1/terminate');
  });

  it('lists instances with paging and purges by filter', async () => {
    for (let i = 0; i < 5; i++) await api.waitForEnd(await api.start('Single', `p${i}`, `page-${i}`));
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const res: Response = await fetch(api.url('instances/', { instanceIdPrefix: 'page-', top: '2' }), { headers: token ? { 'x-ms-continuation-token': token } : {} });
      seen.push(...((await res.json()) as { instanceId: string }[]).map((s) => s.instanceId));
      token = res.headers.get('x-ms-continuation-token');
    } while (token);
    assert.deepEqual(seen.sort(), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    const purge = await fetch(api.url('instances/', { createdTimeFrom: '2000-01-01T00:00:00Z', runtimeStatus: 'Completed' }), { method: 'DELETE' });
    assert.equal(purge.status, 200);
    assert.ok(((await purge.json()) as { instancesDeleted: number }).instancesDeleted >= 5);
  });

  it('answers the status API like the extension: 202 while running, 404 unknown, history on request', async () => {
    const id = await api.start('Eternal', null);
    const res = await fetch(api.url(`instances/${id}`));
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal((await fetch(api.url('instances/nope'))).status, 404);
    const done = await api.waitForEnd(await api.start('Single', 'h'));
    const withHistory = await api.status(done.instanceId, { showHistory: 'true' });
    assert.deepEqual(withHistory?.historyEvents?.map((e) => e.EventType), ['ExecutionStarted', 'TaskCompleted', 'ExecutionCompleted']);
    await api.post(`instances/${id}/terminate`);
  });
});
