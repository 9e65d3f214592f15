/**
 * The Supabase side of a deployment, on real Postgres: the storage-bucket migrations create the buckets and their
 * policies in the stub's storage schema (owned, as on Supabase, by another role than the one the migrations run as),
 * and longhaul.check_webhook says whether the installed pg_net webhook agrees with the Function App's settings as
 * infra/main.bicep sets them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole, createTestDatabase, type TestDatabase } from '../support/database';
import { readInfraSettings, scheduleIntervalSeconds } from '../support/artifact';
import { repoRoot } from '../support/hostProcess';

// pg_net's signature, recording calls instead of sending them (as in rls.test.ts).
const PG_NET_STAND_IN = `
  create schema net;
  create table net.calls (url text, body jsonb, headers jsonb, timeout_milliseconds integer);
  create function net.http_post(url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer default 5000)
  returns bigint language sql as $$ insert into net.calls values (url, body, headers, timeout_milliseconds); select 1::bigint $$;`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('supabase deployment: storage buckets', () => {
  let supa: TestDatabase;
  before(async () => {
    supa = await createTestDatabase('deploy_storage');
  });
  after(async () => {
    await supa?.drop();
  });

  it('creates the private recordings and longhaul-images buckets, and users reach only their own recordings folder', async () => {
    const pool = new Pool({ connectionString: supa.url, max: 1 });
    try {
      await applyMigrations(supa.url);
      const buckets = await pool.query<{ id: string; public: boolean }>('select id, public from storage.buckets order by id');
      assert.deepEqual(buckets.rows, [{ id: 'longhaul-images', public: false }, { id: 'recordings', public: false }]);

      const alice = (await pool.query<{ id: string }>("insert into auth.users (email) values ('alice@x') returning id")).rows[0]!.id;
      const asAlice = async (sql: string): Promise<number> => (await asSupabaseRole(pool, { role: 'authenticated', userId: alice }, sql)).length;
      assert.equal(await asAlice(`insert into storage.objects (bucket_id, name) values ('recordings', '${alice}/standup.mp3') returning id`), 1);
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
