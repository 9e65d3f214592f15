/**
 * The Supabase schema on real Postgres, as Supabase's roles see it: what a signed-in user may and may not do, the
 * constraints that keep credits exact, the views, and the webhook payload. Runs the migrations exactly as the local
 * runner applies them (supabase/local/supabase_stub.sql first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole, createTestDatabase, type TestDatabase } from '../support/database';

const wf = (llm: number): string => JSON.stringify({ nodes: Array.from({ length: llm }, (_, i) => ({ id: `n${i}`, type: 'llm', prompt: 'p' })) });

describe('supabase schema: RLS, credits and the state machine', () => {
  let db: TestDatabase;
  let pool: Pool;
  let alice: string;
  let bob: string;

  const as = <T extends Record<string, unknown>>(user: string, sql: string, values: unknown[] = []): Promise<T[]> => asSupabaseRole<T>(pool, { role: 'authenticated', userId: user }, sql, values);
  const sqlState = (code: string) => (err: unknown) => (err as { code?: string }).code === code;
  const newUser = async (credits: number): Promise<string> => {
    const id = (await pool.query<{ id: string }>('insert into auth.users (email) values (gen_random_uuid()::text) returning id')).rows[0]!.id;
    if (credits) await pool.query('select longhaul.grant_credits($1, $2)', [id, credits]);
    return id;
  };
  const balance = async (user: string): Promise<number> => Number((await pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [user])).rows[0]?.balance ?? 0);

  before(async () => {
    db = await createTestDatabase('supabase_rls');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 3 });
    alice = await newUser(100);
    bob = await newUser(100);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('a user\'s plain insert is a complete submission: pending, charged, one outbox row, one event', async () => {
    const [job] = await as<{ id: string; status: string; attempt: number; credits_charged: string }>(alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id, status, attempt, credits_charged", [wf(3)]);
    assert.deepEqual([job!.status, job!.attempt, Number(job!.credits_charged)], ['pending', 1, 3]);
    assert.equal(await balance(alice), 97);
    const outbox = await pool.query('select attempt from longhaul.job_deliveries where job_id = $1', [job!.id]);
    assert.deepEqual(outbox.rows, [{ attempt: 1 }]);
    const events = await as<{ to_status: string; actor: string }>(alice, 'select to_status, actor from public.job_events where job_id = $1', [job!.id]);
    assert.deepEqual(events, [{ to_status: 'pending', actor: alice }]);
  });

  it('users cannot write engine-owned columns, nor jobs for someone else', async () => {
    await assert.rejects(as(alice, "insert into public.jobs (kind, input, status) values ('workflow', $1, 'completed')", [wf(1)]), sqlState('42501'));
    await assert.rejects(as(alice, "insert into public.jobs (kind, input, credits_charged) values ('workflow', $1, 0)", [wf(1)]), sqlState('42501'));
    await assert.rejects(as(alice, "insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(1), bob]), sqlState('42501'));
    await assert.rejects(as(alice, "update public.jobs set status = 'completed'"), sqlState('42501'));
    await assert.rejects(as(alice, 'delete from public.jobs'), sqlState('42501'));
    await assert.rejects(as(alice, 'update public.credit_accounts set balance = 1000000'), sqlState('42501'));
    await assert.rejects(as(alice, "insert into public.credit_ledger (user_id, entry, amount, balance_after, reason) values ($1, 'grant', 10, 10, 'x')", [alice]), sqlState('42501'));
  });

  it('the service role cannot smuggle engine state in either: the trigger resets it', async () => {
    const { rows } = await pool.query<{ status: string; attempt: number; credits_refunded: string }>(
      "insert into public.jobs (kind, input, user_id, status, attempt, credits_refunded) values ('workflow', $1, $2, 'completed', 7, 99) returning status, attempt, credits_refunded",
      [wf(1), alice],
    );
    assert.deepEqual([rows[0]!.status, rows[0]!.attempt, Number(rows[0]!.credits_refunded)], ['pending', 1, 0]);
  });

  it('each user sees only their own jobs, events, balance and ledger; the engine schema is invisible', async () => {
    await as(bob, "insert into public.jobs (kind, input) values ('workflow', $1)", [wf(1)]);
    for (const table of ['jobs', 'job_events', 'credit_accounts', 'credit_ledger']) {
      const rows = await as<{ user_id: string }>(alice, `select user_id from public.${table}`);
      assert.ok(rows.length > 0 && rows.every((r) => r.user_id === alice), `${table}: only alice's rows`);
    }
    for (const table of ['job_chunks', 'job_items', 'job_runs', 'job_deliveries']) {
      await assert.rejects(as(alice, `select * from longhaul.${table}`), sqlState('42501'), table);
    }
    await assert.rejects(as(alice, "select longhaul.grant_credits($1, 1000)", [alice]), sqlState('42501'));
  });

  it('too few credits fail the insert with LH402 and change nothing', async () => {
    const poor = await newUser(2);
    await assert.rejects(as(poor, "insert into public.jobs (kind, input) values ('workflow', $1)", [wf(5)]), (err: Error & { code?: string }) => err.code === 'LH402' && /costs 5 credits and the balance is 2/.test(err.message));
    assert.equal(await balance(poor), 2);
    assert.equal((await pool.query('select 1 from public.jobs where user_id = $1', [poor])).rowCount, 0);
  });

  it('unknown kinds and malformed inputs fail with LH400 naming the field', async () => {
    await assert.rejects(as(alice, "insert into public.jobs (kind, input) values ('teleport', '{}')"), (err: Error & { code?: string }) => err.code === 'LH400' && err.message.startsWith('kind: unknown job kind "teleport"'));
    await assert.rejects(as(alice, "insert into public.jobs (kind, input) values ('workflow', '{\"nodes\": 3}')"), (err: Error & { code?: string }) => err.code === 'LH400' && err.message.startsWith('input.nodes:'));
    await assert.rejects(as(alice, "insert into public.jobs (kind, input) values ('workflow', '[]')"), (err: Error & { code?: string }) => err.code === 'LH400' && err.message.startsWith('input:'));
  });

  it('a repeated idempotency key fails before charging', async () => {
    await as(alice, "insert into public.jobs (kind, input, idempotency_key) values ('workflow', $1, 'k1')", [wf(2)]);
    const before = await balance(alice);
    await assert.rejects(as(alice, "insert into public.jobs (kind, input, idempotency_key) values ('workflow', $1, 'k1')", [wf(2)]), sqlState('23505'));
    assert.equal(await balance(alice), before);
    // Another user may use the same key.
    await as(bob, "insert into public.jobs (kind, input, idempotency_key) values ('workflow', $1, 'k1')", [wf(1)]);
  });

  it('transitions are enforced: queued -> running -> completed, and nothing ends twice', async () => {
    const [job] = await as<{ id: string }>(alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf(1)]);
    const id = job!.id;
    assert.equal((await pool.query("select longhaul.mark_queued($1, 1, 't') as s", [id])).rows[0].s, 'queued');
    assert.equal((await pool.query("select longhaul.mark_queued($1, 2, 't') as s", [id])).rows[0].s, 'stale');
    assert.equal((await pool.query("select (longhaul.start_job($1, 1, 't')).status as s", [id])).rows[0].s, 'running');
    assert.equal((await pool.query("select (longhaul.complete_job($1, 1, '{}'::jsonb, 't')).status as s", [id])).rows[0].s, 'completed');
    assert.equal((await pool.query("select (longhaul.fail_job($1, 1, '{}'::jsonb, 't')).status as s", [id])).rows[0].s, 'completed', 'failing a completed job changes nothing');
    await assert.rejects(pool.query("select longhaul.request_cancel($1, 't')", [id]), sqlState('LH409'));
    await assert.rejects(pool.query("select longhaul.retry_job($1, 't')", [id]), sqlState('LH409'));
    await assert.rejects(pool.query("select longhaul.request_cancel(gen_random_uuid(), 't')"), sqlState('LH404'));
    const trail = await pool.query<{ from_status: string | null; to_status: string }>('select from_status, to_status from public.job_events where job_id = $1 order by id', [id]);
    assert.deepEqual(trail.rows.map((r) => `${r.from_status ?? '-'}>${r.to_status}`), ['->pending', 'pending>queued', 'queued>running', 'running>completed']);
  });

  it('a refund happens once per attempt: by the function and by the ledger\'s unique index', async () => {
    const [job] = await as<{ id: string }>(alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf(3)]);
    const before = await balance(alice);
    await pool.query("select longhaul.start_job($1, 1, 't')", [job!.id]);
    await pool.query("select longhaul.fail_job($1, 1, '{\"message\":\"x\"}'::jsonb, 't')", [job!.id]);
    await pool.query("select longhaul.fail_job($1, 1, '{\"message\":\"x\"}'::jsonb, 't')", [job!.id]);
    assert.equal(await balance(alice), before + 3);
    await assert.rejects(
      pool.query("insert into public.credit_ledger (user_id, job_id, attempt, entry, amount, balance_after, reason) values ($1, $2, 1, 'refund', 3, 0, 'again')", [alice, job!.id]),
      sqlState('23505'),
    );
  });

  it('cancel of a running job refunds only the units not done; retry charges only those; RPCs are owner-only', async () => {
    const [job] = await as<{ id: string }>(alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf(3)]);
    const id = job!.id;
    await pool.query("select longhaul.start_job($1, 1, 't')", [id]);
    await pool.query("insert into longhaul.job_items (job_id, key, seq, units) values ($1, 'a', 0, 1), ($1, 'b', 1, 1), ($1, 'c', 2, 1)", [id]);
    const done = "select longhaul.complete_items($1, '[{\"key\":\"a\",\"status\":\"done\",\"output\":\"x\"}]'::jsonb) as n";
    assert.equal((await pool.query(done, [id])).rows[0].n, 1);
    assert.equal((await pool.query(done, [id])).rows[0].n, 0, 'a re-run item counts nothing');
    await assert.rejects(as(bob, 'select public.cancel_job($1)', [id]), sqlState('LH404'));
    const [requested] = await as<{ status: string; cancel_requested_at: Date | null }>(alice, 'select status, cancel_requested_at from public.cancel_job($1)', [id]);
    assert.equal(requested!.status, 'running', 'a running job stops cooperatively');
    assert.ok(requested!.cancel_requested_at);
    const [cancelled] = (await pool.query<{ status: string; credits_refunded: string }>("select status, credits_refunded from longhaul.finish_cancel($1, 1, 't')", [id])).rows;
    assert.deepEqual([cancelled!.status, Number(cancelled!.credits_refunded)], ['cancelled', 2]);
    await assert.rejects(as(bob, 'select public.retry_job($1)', [id]), sqlState('LH404'));
    const [retried] = await as<{ status: string; attempt: number; credits_charged: string }>(alice, 'select status, attempt, credits_charged from public.retry_job($1)', [id]);
    assert.deepEqual([retried!.status, retried!.attempt, Number(retried!.credits_charged)], ['pending', 2, 5]);
    const ledger = await pool.query<{ entry: string; attempt: number; amount: string }>('select entry, attempt, amount from public.credit_ledger where job_id = $1 order by id', [id]);
    assert.deepEqual(ledger.rows.map((r) => `${r.entry}:${r.attempt}:${r.amount}`), ['charge:1:-3', 'refund:1:2', 'charge:2:-2']);
    assert.equal((await pool.query('select count(*)::int as n from longhaul.job_deliveries where job_id = $1', [id])).rows[0].n, 2);
  });

  it('views show the caller\'s jobs only, and the queue position counts everyone waiting ahead', async () => {
    const carol = await newUser(10);
    const dave = await newUser(10);
    const [first] = await as<{ id: string }>(dave, "insert into public.jobs (kind, input, priority) values ('workflow', $1, 100) returning id", [wf(1)]);
    const [low] = await as<{ id: string }>(carol, "insert into public.jobs (kind, input, priority) values ('workflow', $1, -100) returning id", [wf(1)]);
    const [high] = await as<{ id: string }>(carol, "insert into public.jobs (kind, input, priority) values ('workflow', $1, 99) returning id", [wf(1)]);
    const queue = await as<{ id: string }>(carol, 'select id from public.pending_jobs_queue order by position');
    assert.deepEqual(queue.map((r) => r.id), [high!.id, low!.id]);
    assert.equal(Number((await as<{ p: string }>(carol, 'select public.job_queue_position($1) as p', [high!.id]))[0]!.p), 2, "dave's urgent job is ahead");
    assert.equal((await as<{ p: string | null }>(carol, 'select public.job_queue_position($1) as p', [first!.id]))[0]!.p, null, "not carol's job");
    const stats = await as<{ jobs: string }>(carol, "select jobs from public.job_stats where kind = 'workflow' and status = 'pending'");
    assert.equal(Number(stats[0]!.jobs), 2);
    await pool.query("select longhaul.start_job($1, 1, 't')", [high!.id]);
    assert.equal((await as(carol, 'select id from public.active_jobs')).length, 1);
    assert.equal((await as<{ p: string | null }>(carol, 'select public.job_queue_position($1) as p', [high!.id]))[0]!.p, null, 'running: no position');
  });

  it('sends the webhook payload (insert, and retry as an update) after commit, without the input', async () => {
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    const payloads: Record<string, unknown>[] = [];
    listener.on('notification', (n) => payloads.push(JSON.parse(n.payload ?? '{}') as Record<string, unknown>));
    await listener.query('listen longhaul_webhook');
    try {
      const [job] = await as<{ id: string }>(alice, "insert into public.jobs (kind, input) values ('workflow', $1) returning id", [wf(1)]);
      await pool.query("select longhaul.fail_job($1, 1, '{}'::jsonb, 't')", [job!.id]);
      await as(alice, 'select public.retry_job($1)', [job!.id]);
      for (let i = 0; i < 100 && payloads.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const mine = payloads.filter((p) => (p.record as { id: string }).id === job!.id);
      assert.equal(mine.length, 2, 'one for the insert, one for the retry; none for the failure');
      const [insert, retry] = mine as { type: string; table: string; schema: string; record: Record<string, unknown>; old_record: Record<string, unknown> | null }[];
      assert.deepEqual([insert!.type, insert!.table, insert!.schema, insert!.old_record], ['INSERT', 'jobs', 'public', null]);
      assert.equal(insert!.record.attempt, 1);
      assert.ok(!('input' in insert!.record), 'the input stays out of the payload');
      assert.deepEqual([retry!.type, retry!.old_record?.attempt, retry!.record.attempt, retry!.record.status], ['UPDATE', 1, 2, 'pending']);
    } finally {
      await listener.end();
    }
  });
});

describe('supabase schema: installing the pg_net webhook', () => {
  let db: TestDatabase;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase('supabase_webhook');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('refuses to install without pg_net, then calls net.http_post with the payload and the secret header', async () => {
    await assert.rejects(pool.query("select longhaul.install_webhook('https://app.example/api/webhooks/supabase', 'a-secret-of-32-characters-000000')"), /pg_net is not installed/);
    // pg_net's signature, recording calls instead of sending them.
    await pool.query(`
      create schema net;
      create table net.calls (url text, body jsonb, headers jsonb, timeout_milliseconds integer);
      create function net.http_post(url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
        headers jsonb default '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer default 5000)
      returns bigint language sql as $$ insert into net.calls values (url, body, headers, timeout_milliseconds); select 1::bigint $$;`);
    await assert.rejects(pool.query("select longhaul.install_webhook('https://app.example/api/webhooks/supabase', 'short')"), /at least 16 characters/);
    await pool.query("select longhaul.install_webhook('https://app.example/api/webhooks/supabase', 'a-secret-of-32-characters-000000')");
    const user = (await pool.query<{ id: string }>("insert into auth.users (email) values ('w@x') returning id")).rows[0]!.id;
    await pool.query('select longhaul.grant_credits($1, 10)', [user]);
    const job = (await pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [wf(1), user])).rows[0]!.id;
    await pool.query("select longhaul.start_job($1, 1, 't')", [job]);
    const calls = await pool.query<{ url: string; body: { type: string; record: { id: string; attempt: number } }; headers: Record<string, string>; timeout_milliseconds: number }>('select * from net.calls');
    assert.equal(calls.rows.length, 1, 'the insert is delivered; progress and status updates are not');
    const call = calls.rows[0]!;
    assert.equal(call.url, 'https://app.example/api/webhooks/supabase');
    assert.equal(call.headers['x-webhook-secret'], 'a-secret-of-32-characters-000000');
    assert.deepEqual([call.body.type, call.body.record.id, call.body.record.attempt], ['INSERT', job, 1]);
    assert.equal(call.timeout_milliseconds, 5000);
  });
});
