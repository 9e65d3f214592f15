/**
 * What the database emits for Realtime (supabase/migrations/20261207000400_jobs_broadcast.sql): public.jobs is not in
 * the supabase_realtime publication (Postgres Changes sends DELETEs to everyone), and each change of a job is one
 * private Broadcast message on topic jobs:<owner>. Reading realtime.messages as the Realtime service does when it
 * authorizes a channel (the user's role and claims, realtime.topic set to the channel) shows who would receive what.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole, createTestDatabase, type TestDatabase } from '../support/database';

const wf = JSON.stringify({ nodes: [{ id: 'a', type: 'llm', prompt: 'p' }] });

interface Message {
  topic: string;
  event: string;
  private: boolean;
  payload: { operation: string; table: string; record: Record<string, unknown> | null; old_record: { id: string } | null };
}

describe('supabase: job changes on Realtime', () => {
  let db: TestDatabase;
  let pool: Pool;
  let alice: string;
  let bob: string;
  let aliceJob: string;
  let bobJob: string;

  /** What `who` receives on `channel`: the rows Realtime's authorization lets them read with that topic. */
  const receives = (who: string | null, channel: string | null): Promise<Message[]> =>
    asSupabaseRole<Message & Record<string, unknown>>(
      pool,
      who ? { role: 'authenticated', userId: who, settings: channel ? { 'realtime.topic': channel } : {} } : { role: 'anon', settings: channel ? { 'realtime.topic': channel } : {} },
      'select topic, event, private, payload from realtime.messages order by inserted_at',
    );

  before(async () => {
    db = await createTestDatabase('supabase_realtime');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 3 });
    const newUser = async (): Promise<string> => {
      const id = (await pool.query<{ id: string }>('insert into auth.users (email) values (gen_random_uuid()::text) returning id')).rows[0]!.id;
      await pool.query('select longhaul.grant_credits($1, 10)', [id]);
      return id;
    };
    alice = await newUser();
    bob = await newUser();
    aliceJob = (await asSupabaseRole<{ id: string }>(pool, { role: 'authenticated', userId: alice }, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf]))[0]!.id;
    bobJob = (await asSupabaseRole<{ id: string }>(pool, { role: 'authenticated', userId: bob }, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf]))[0]!.id;
    // Alice's job runs to the end and is purged; bob's stays.
    await pool.query("select longhaul.start_job($1, 1, 't')", [aliceJob]);
    await pool.query("select longhaul.complete_job($1, 1, '{\"secret\":\"alice-result\"}'::jsonb, 't')", [aliceJob]);
    await pool.query('delete from public.jobs where id = $1', [aliceJob]);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('keeps public.jobs out of the Postgres Changes publication', async () => {
    const { rows } = await pool.query("select tablename from pg_publication_tables where pubname = 'supabase_realtime'");
    assert.deepEqual(rows, []);
    assert.equal((await pool.query("select 1 from pg_publication where pubname = 'supabase_realtime'")).rowCount, 1, 'the stub has the publication, as Supabase does');
  });

  it('emits every change of a job on its owner\'s private topic only, without input or result', async () => {
    const { rows } = await pool.query<Message>('select topic, event, private, payload from realtime.messages order by inserted_at');
    const about = (id: string): Message[] => rows.filter((m) => JSON.stringify(m.payload).includes(id));
    assert.deepEqual(about(aliceJob).map((m) => [m.topic, m.event, m.private]), [
      [`jobs:${alice}`, 'INSERT', true],
      ...about(aliceJob).slice(1, -1).map(() => [`jobs:${alice}`, 'UPDATE', true]),
      [`jobs:${alice}`, 'DELETE', true],
    ]);
    assert.ok(about(aliceJob).length >= 4, 'insert, running, completed, delete');
    assert.deepEqual(about(aliceJob).at(-1)!.payload, { operation: 'DELETE', schema: 'public', table: 'jobs', record: null, old_record: { id: aliceJob } });
    const completed = about(aliceJob).find((m) => m.payload.record?.status === 'completed');
    assert.ok(completed, 'the completion is sent');
    assert.ok(!('input' in completed.payload.record!) && !('result' in completed.payload.record!), 'input and result stay out');
    assert.deepEqual([...new Set(about(bobJob).map((m) => m.topic))], [`jobs:${bob}`]);
  });

  it('sends a message for a change a subscriber can see, and nothing for one they cannot', async () => {
    const count = async (): Promise<number> => (await pool.query<{ n: number }>("select count(*)::int as n from realtime.messages where payload::text like '%' || $1 || '%'", [bobJob])).rows[0]!.n;
    const before = await count();
    await pool.query('update public.jobs set updated_at = now() + interval \'1 second\' where id = $1', [bobJob]);
    assert.equal(await count(), before, 'only updated_at changed: nothing to tell');
    await pool.query('update public.jobs set priority = priority + 1 where id = $1', [bobJob]);
    assert.equal(await count(), before + 1, 'a visible column changed: one message');
  });

  it('lets no one but the owner receive a job\'s changes, whatever channel they subscribe to', async () => {
    const ids = (messages: Message[]): string[] => [...new Set(messages.map((m) => (m.payload.record?.id ?? m.payload.old_record?.id) as string))];
    assert.deepEqual(await receives(bob, `jobs:${alice}`), [], "bob on alice's channel");
    assert.deepEqual(ids(await receives(bob, `jobs:${bob}`)), [bobJob], 'bob on his own channel: his job only');
    assert.deepEqual(await receives(bob, null), [], 'bob without a channel');
    assert.deepEqual(await receives(null, `jobs:${alice}`), [], "anon on alice's channel");
    const own = await receives(alice, `jobs:${alice}`);
    assert.deepEqual(ids(own), [aliceJob]);
    assert.equal(own.at(-1)!.event, 'DELETE', 'the owner learns of the purge');
  });

  it('lets no user send on a jobs topic', async () => {
    for (const topic of [`jobs:${bob}`, `jobs:${alice}`]) {
      await assert.rejects(
        asSupabaseRole(pool, { role: 'authenticated', userId: bob, settings: { 'realtime.topic': topic } }, "insert into realtime.messages (topic, extension, event, payload, private) values ($1, 'broadcast', 'UPDATE', '{}', true)", [topic]),
        /row-level security/,
      );
    }
  });
});
