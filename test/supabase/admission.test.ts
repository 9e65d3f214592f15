/**
 * The first check of an insert into public.jobs (supabase/migrations/20261207000100_jobs_insert_admission.sql), as a
 * signed-in user reaches it through the Data API: another user's user_id is refused before anything reads their data,
 * with one answer whether or not they exist; the input's stored size is bounded; a storage:// recording must lie in
 * recordings/<owner>/ after percent-decoding.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole, createTestDatabase, type TestDatabase } from '../support/database';

const wf = (llm: number): string => JSON.stringify({ nodes: Array.from({ length: llm }, (_, i) => ({ id: `n${i}`, type: 'llm', prompt: 'p' })) });
const recording = (url: string): string => JSON.stringify({ url });

/** Everything an error tells the caller (message, code, detail, hint, constraint, table, column). */
const told = (err: unknown): string => {
  const e = err as Record<string, unknown>;
  return JSON.stringify(['message', 'code', 'detail', 'hint', 'constraint', 'table', 'column', 'schema'].map((k) => e[k] ?? null));
};

describe('supabase: what an insert into public.jobs checks first', () => {
  let db: TestDatabase;
  let pool: Pool;
  let alice: string;
  let bob: string;
  const ghost = randomUUID();

  const as = <T extends Record<string, unknown>>(user: string, sql: string, values: unknown[] = []): Promise<T[]> => asSupabaseRole<T>(pool, { role: 'authenticated', userId: user }, sql, values);
  const failure = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (err) {
      return told(err);
    }
    assert.fail('the insert was accepted');
  };
  const balance = async (user: string): Promise<number> => Number((await pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [user])).rows[0]?.balance ?? 0);

  before(async () => {
    db = await createTestDatabase('supabase_admission');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 3 });
    const newUser = async (credits: number): Promise<string> => {
      const id = (await pool.query<{ id: string }>('insert into auth.users (email) values (gen_random_uuid()::text) returning id')).rows[0]!.id;
      await pool.query('select longhaul.grant_credits($1, $2)', [id, credits]);
      return id;
    };
    alice = await newUser(1000);
    bob = await newUser(7);
    // Bob has used an idempotency key; his balance is 7.
    await pool.query("insert into public.jobs (kind, input, user_id, idempotency_key) values ('workflow', $1, $2, 'bobs-key')", [wf(1), bob]);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('refuses another user_id with one answer, whether that user exists, is short of credits or used the key', async () => {
    const probes: [string, string, unknown[]][] = [
      ['balance', "insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(8)]],
      ['user exists', "insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(1)]],
      ['idempotency key', "insert into public.jobs (kind, input, user_id, idempotency_key) values ('workflow', $1, $2, 'bobs-key')", [wf(1)]],
      ['on conflict', "insert into public.jobs (kind, input, user_id, idempotency_key) values ('workflow', $1, $2, 'bobs-key') on conflict do nothing", [wf(1)]],
    ];
    const before = await balance(alice);
    for (const [channel, sql, values] of probes) {
      const forBob = await failure(as(alice, sql, [values[0], bob]));
      const forGhost = await failure(as(alice, sql, [values[0], ghost]));
      assert.equal(forBob, forGhost, `${channel}: the answer for an existing user and for a made-up id differ`);
      assert.match(forBob, /user_id: a signed-in user can only submit jobs for themselves/, channel);
      assert.match(forBob, /"42501"/, channel);
      assert.doesNotMatch(forBob, /balance|costs|7|bobs-key/, channel);
    }
    assert.equal(await balance(alice), before, 'nothing charged');
    assert.equal(await balance(bob), 6, 'nothing charged to bob either');
  });

  it('still lets a user submit for themselves (user_id omitted or their own) and the service side name any user', async () => {
    await as(alice, "insert into public.jobs (kind, input) values ('workflow', $1)", [wf(1)]);
    await as(alice, "insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(1), alice]);
    await asSupabaseRole(pool, { role: 'service_role' }, "insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(1), bob]);
    await pool.query("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2)", [wf(1), bob]);
    await assert.rejects(as(alice, "insert into public.jobs (kind, input, user_id) values ('workflow', $1, null)", [wf(1)]), (err: Error & { code?: string }) => err.code === '42501');
  });

  it('bounds the input as stored (32 MiB) before charging, and requests carry the hosted statement timeouts', async () => {
    const before = await balance(alice);
    const huge = JSON.stringify({ nodes: [{ id: 'a', type: 'llm', prompt: 'p' }], pad: 'x'.repeat(33 * 1024 * 1024) });
    await assert.rejects(
      as(alice, "insert into public.jobs (kind, input) values ('workflow', $1)", [huge]),
      (err: Error & { code?: string }) => err.code === 'LH400' && /^input: \d+ bytes as stored, more than the 33554432 allowed$/.test(err.message),
    );
    assert.equal(await balance(alice), before);
    const timeout = async (role: 'authenticated' | 'anon'): Promise<unknown> => (await asSupabaseRole<{ statement_timeout: string }>(pool, { role }, 'show statement_timeout'))[0]!.statement_timeout;
    assert.deepEqual([await timeout('authenticated'), await timeout('anon')], ['8s', '3s']);
  });

  it('accepts a recording only inside recordings/<owner>/, percent-encoded dots and separators decoded', async () => {
    const insert = (user: string, url: string): Promise<unknown> => as(user, "insert into public.jobs (kind, input) values ('recording_analysis', $1)", [recording(url)]);
    await insert(alice, `storage://recordings/${alice}/standup.mp3`);
    await insert(alice, `storage://recordings/${alice}/2026/12/standup%20final.mp3`);
    await insert(alice, 'https://example.com/recordings/../x.mp3');
    const refused = [
      `storage://recordings/${alice}/%2e%2e/${bob}/file.flac`,
      `storage://recordings/${alice}/%2E%2e/${bob}/file.flac`,
      `storage://recordings/${alice}/..%2f${bob}/file.flac`,
      `storage://recordings/${alice}/x%2F..%2F..%2F${bob}%2Ffile.flac`,
      `storage://recordings/${alice}/x%5c..%5C..%5c${bob}%5cfile.flac`,
      `storage://recordings/${alice}/x\\..\\..\\${bob}\\file.flac`,
      `storage://recordings/${alice}/./file.flac`,
      `storage://recordings/${alice}//file.flac`,
      `storage://recordings/${alice}/`,
      `storage://recordings/${alice}`,
      `storage://recordings/${bob}/file.flac`,
      `storage://longhaul-images/${alice}/file.flac`,
      `storage://recordings/${alice.toUpperCase()}/file.flac`,
    ];
    const before = await balance(alice);
    for (const url of refused) {
      await assert.rejects(insert(alice, url), (err: Error & { code?: string }) => err.code === 'LH400' && err.message.startsWith('input.url: '), url);
    }
    // The service side cannot place a job on someone else's file either.
    await assert.rejects(
      pool.query("insert into public.jobs (kind, input, user_id) values ('recording_analysis', $1, $2)", [recording(`storage://recordings/${alice}/%2e%2e/${bob}/f.flac`), alice]),
      (err: Error & { code?: string }) => err.code === 'LH400',
    );
    assert.equal(await balance(alice), before, 'refused before charging');
  });
});
