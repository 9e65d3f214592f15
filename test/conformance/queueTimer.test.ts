import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { QueueServiceClient } from '@azure/storage-queue';
import { createTestDatabase, testStorageConnectionString } from '../support/database';
import { conformanceAppDir, eventually, queueSuffix, startHostProcess, type HostProcess } from '../support/hostProcess';

describe('local host: queue and timer triggers', () => {
  let host: HostProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: Client;
  let queues: QueueServiceClient;
  let suffix: string;

  before(async () => {
    db = await createTestDatabase('queue');
    suffix = queueSuffix(db.url);
    queues = QueueServiceClient.fromConnectionString(testStorageConnectionString());
    host = await startHostProcess({ appDir: conformanceAppDir(), databaseUrl: db.url, storage: testStorageConnectionString() });
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  after(async () => {
    await host?.stop();
    await sql?.end();
    await db?.drop();
  });

  const logged = async (kind: string, key: string): Promise<{ payload: Record<string, unknown> }[]> => {
    const exists = await sql.query(`select to_regclass('conformance_log') as t`);
    if (!exists.rows[0]?.t) return [];
    return (await sql.query('select payload from conformance_log where kind = $1 and key = $2 order by id', [kind, key])).rows;
  };

  it('delivers a base64 message to the queue trigger with trigger metadata, and the queue output binding forwards it', async () => {
    const inQueue = queues.getQueueClient(`in-${suffix}`);
    await inQueue.createIfNotExists();
    await inQueue.sendMessage(Buffer.from(JSON.stringify({ id: 'm1' })).toString('base64'));
    const rows = await eventually(async () => {
      const r = await logged('forwarded', 'm1');
      return r.length ? r : undefined;
    }, 20_000, 'forwarded message');
    assert.deepEqual(rows[0]?.payload, { forwarded: 'm1' });
    const consumed = await logged('queue', 'm1');
    assert.equal(consumed.length, 1);
    assert.equal(consumed[0]?.payload.dequeueCount, 1);
    assert.equal(typeof consumed[0]?.payload.metadataId, 'string');
  });

  it('sends one message per element when an output binding is given an array', async () => {
    const res = await fetch(`${host.url}/api/enqueue`, { method: 'POST', body: JSON.stringify([{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }]) });
    assert.equal(res.status, 202);
    for (const id of ['a1', 'a2', 'a3']) {
      await eventually(async () => ((await logged('forwarded', id)).length === 1 ? true : undefined), 20_000, `forwarded ${id}`);
    }
  });

  it('moves a message that fails 5 times to <queue>-poison, after exactly 5 attempts', async () => {
    const inQueue = queues.getQueueClient(`in-${suffix}`);
    await inQueue.sendMessage(Buffer.from(JSON.stringify({ id: 'bad', fail: true })).toString('base64'));
    const poison = queues.getQueueClient(`in-${suffix}-poison`);
    const message = await eventually(async () => {
      if (!(await poison.exists())) return undefined;
      const peeked = await poison.peekMessages({ numberOfMessages: 1 });
      return peeked.peekedMessageItems[0];
    }, 30_000, 'poison message');
    assert.deepEqual(JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')), { id: 'bad', fail: true });
    const attempts = await logged('queue', 'bad');
    assert.deepEqual(attempts.map((a) => a.payload.dequeueCount), [1, 2, 3, 4, 5]);
  });

  it('fires a 6-field NCRONTAB timer ("*/2 * * * * *") on schedule with its schedule status', async () => {
    const ticks = await eventually(async () => {
      const exists = await sql.query(`select to_regclass('conformance_log') as t`);
      if (!exists.rows[0]?.t) return undefined;
      const r = await sql.query(`select payload, at from conformance_log where kind = 'timer' order by id`);
      return r.rows.length >= 2 ? r.rows : undefined;
    }, 15_000, 'two timer ticks');
    const [first, second] = ticks as { payload: { isPastDue: boolean; next: string }; at: Date }[];
    assert.equal(first?.payload.isPastDue, false);
    const gap = (second?.at.getTime() ?? 0) - (first?.at.getTime() ?? 0);
    assert.ok(gap >= 1500 && gap <= 3000, `ticks ${gap} ms apart`);
  });
});
