/**
 * The Supabase side of a deployment, on real Postgres: the storage-bucket migration applies both where Supabase
 * Storage exists (a stand-in of its schema) and where it does not (the local host), and longhaul.check_webhook says
 * whether the installed pg_net webhook agrees with the Function App's settings as infra/main.bicep sets them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { readInfraSettings, scheduleIntervalSeconds } from '../support/artifact';
import { repoRoot } from '../support/hostProcess';

// The parts of Supabase's storage schema the migration touches (buckets, objects with RLS, foldername()).
const STORAGE_STAND_IN = `
  create schema storage;
  create table storage.buckets (id text primary key, name text not null unique, public boolean default false);
  create table storage.objects (id uuid primary key default gen_random_uuid(), bucket_id text references storage.buckets, name text, owner uuid);
  alter table storage.objects enable row level security;
  create function storage.foldername(name text) returns text[] language sql immutable as $$ select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;
  grant usage on schema storage to authenticated;
  grant select, insert, delete on storage.objects to authenticated;`;

// pg_net's signature, recording calls instead of sending them (as in rls.test.ts).
const PG_NET_STAND_IN = `
  create schema net;
  create table net.calls (url text, body jsonb, headers jsonb, timeout_milliseconds integer);
  create function net.http_post(url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer default 5000)
  returns bigint language sql as $$ insert into net.calls values (url, body, headers, timeout_milliseconds); select 1::bigint $$;`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('supabase deployment: storage buckets', () => {
  let plain: TestDatabase;
  let supa: TestDatabase;
  before(async () => {
    [plain, supa] = await Promise.all([createTestDatabase('deploy_plain'), createTestDatabase('deploy_storage')]);
  });
  after(async () => {
    await plain?.drop();
    await supa?.drop();
  });

  it('applies on plain Postgres without a storage schema, creating nothing', async () => {
    const { applied } = await applyMigrations(plain.url);
    assert.ok(applied.includes('20261202140000_storage_buckets.sql'));
    const pool = new Pool({ connectionString: plain.url, max: 1 });
    try {
      assert.equal((await pool.query("select to_regclass('storage.buckets') as t")).rows[0].t, null);
    } finally {
      await pool.end();
    }
  });

  it('creates the private recordings and longhaul-images buckets, and users reach only their own recordings folder', async () => {
    const pool = new Pool({ connectionString: supa.url, max: 1 });
    try {
      // The stand-in needs the API roles, which the migration runner creates: run its first step by hand.
      await pool.query(`do $$ begin
        if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
      end $$;`);
      await pool.query(STORAGE_STAND_IN);
      await applyMigrations(supa.url);
      const buckets = await pool.query<{ id: string; public: boolean }>('select id, public from storage.buckets order by id');
      assert.deepEqual(buckets.rows, [{ id: 'longhaul-images', public: false }, { id: 'recordings', public: false }]);

      const alice = (await pool.query<{ id: string }>("insert into auth.users (email) values ('alice@x') returning id")).rows[0]!.id;
      const asAlice = async (sql: string): Promise<number> => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          await client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: alice, role: 'authenticated' })]);
          const result = await client.query(sql);
          await client.query('commit');
          return result.rowCount ?? 0;
        } catch (err) {
          await client.query('rollback');
          throw err;
        } finally {
          client.release();
        }
      };
      assert.equal(await asAlice(`insert into storage.objects (bucket_id, name) values ('recordings', '${alice}/standup.mp3')`), 1);
      await assert.rejects(asAlice(`insert into storage.objects (bucket_id, name) values ('recordings', '00000000-0000-0000-0000-000000000000/x.mp3')`), /row-level security/);
      await assert.rejects(asAlice(`insert into storage.objects (bucket_id, name) values ('longhaul-images', '${alice}/x.png')`), /row-level security/);
      await pool.query("insert into storage.objects (bucket_id, name) values ('recordings', 'someone-else/y.mp3')");
      assert.equal(await asAlice("select * from storage.objects where bucket_id = 'recordings'"), 1, 'alice sees her own recording only');
    } finally {
      await pool.end();
    }
  });
});

describe('supabase deployment: the webhook agrees with the sweeper settings', () => {
  let db: TestDatabase;
  let pool: Pool;
  const app = 'https://func-api-abc123.azurewebsites.net';
  const secret = 'a-webhook-secret-of-32-characters';
  const infra = readInfraSettings(repoRoot);
  const redeliver = Number(infra.appSettings.SWEEPER_REDELIVER_AFTER_SECONDS);
  const sweep = scheduleIntervalSeconds(infra.appSettings.SWEEPER_SCHEDULE ?? '');
  const check = async (url: string, digest: string, redeliverAfter: number, interval: number): Promise<Record<string, boolean>> =>
    Object.fromEntries(
      (await pool.query<{ check_name: string; ok: boolean }>('select * from longhaul.check_webhook($1, $2, $3, $4)', [url, digest, redeliverAfter, interval])).rows.map((r) => [r.check_name, r.ok]),
    );

  before(async () => {
    db = await createTestDatabase('deploy_webhook');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('reports the local NOTIFY stand-in as not installed', async () => {
    assert.deepEqual(await check(app, sha256(secret), redeliver, sweep), { installed: false });
  });

  it('passes for the webhook installed as docs/deploy.md says, with the sweeper settings infra/main.bicep sets', async () => {
    assert.ok(redeliver > 0 && sweep > 0, `infra defaults read: redeliver ${redeliver} s, sweep every ${sweep} s`);
    await pool.query(PG_NET_STAND_IN);
    await pool.query('select longhaul.install_webhook($1, $2)', [`${app}/api/webhooks/supabase`, secret]);
    assert.deepEqual(await check(`${app}/`, sha256(secret), redeliver, sweep), { installed: true, url: true, secret: true, timeout: true, latency: true });
  });

  it('names each disagreement: another app, plain http, another secret, a timeout the sweeper would race, a slow sweeper', async () => {
    assert.equal((await check('https://func-other.azurewebsites.net', sha256(secret), redeliver, sweep)).url, false);
    assert.equal((await check(app, sha256('another-secret-of-32-characters!'), redeliver, sweep)).secret, false);
    assert.equal((await check(app, sha256(secret), redeliver, 60)).latency, false);
    await pool.query('select longhaul.install_webhook($1, $2, $3)', [`${app}/api/webhooks/supabase`, secret, 19_000]);
    assert.equal((await check(app, sha256(secret), redeliver, sweep)).timeout, false);
    await pool.query('select longhaul.install_webhook($1, $2)', [`${app.replace('https', 'http')}/api/webhooks/supabase`, secret]);
    assert.equal((await check(app.replace('https', 'http'), sha256(secret), redeliver, sweep)).url, false);
  });
});
