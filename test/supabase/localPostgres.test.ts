/**
 * The embedded Postgres's roles (local/services/postgresRoles.ts): a superuser with a random password kept in the home
 * (0600) that nothing hands out, and `postgres` — the role of local.json's databaseUrl — which is not a superuser and
 * so cannot run programs. A home made when postgres/postgres was the superuser is converted at start and keeps its
 * data. Runs its own cluster (the shared test cluster must not be converted under other tests).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { startPostgres, type PostgresService } from '../../local/services/postgres';
import { credentialsFile, type ClusterCredentials } from '../../local/services/postgresRoles';
import { applyMigrations, localSql, readMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole } from '../support/database';

const withClient = async <T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> => {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};
const inDatabase = (url: string, database: string): string => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};
const withPassword = (url: string, user: string, password: string): string => {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
};

describe('embedded Postgres: roles and passwords', () => {
  let scratch: string;
  let pg: PostgresService | undefined;
  const dataDir = (): string => join(scratch, 'pg');

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'longhaul-pgroles-'));
    // Postgres runs as its own user when we are root: it must be able to enter this directory.
    chmodSync(scratch, 0o755);
    pg = await startPostgres({ dataDir: dataDir(), ephemeral: true });
  });
  after(async () => {
    await pg?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('hands out postgres, not a superuser; the superuser\'s random password stays in a 0600 file of the home', async () => {
    const file = credentialsFile(dataDir());
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const credentials = JSON.parse(readFileSync(file, 'utf8')) as ClusterCredentials;
    assert.equal(credentials.superuser.user, 'supabase_admin');
    assert.ok(credentials.superuser.password.length >= 24 && credentials.postgres.password.length >= 24);
    assert.equal(new URL(pg!.url).username, 'postgres');
    await withClient(pg!.url, async (c) => {
      assert.equal((await c.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper, false);
      await assert.rejects(c.query("copy (select 1) to program 'true'"), (err: Error & { code?: string }) => err.code === '42501');
    });
    for (const user of ['postgres', 'supabase_admin']) {
      await assert.rejects(withClient(withPassword(pg!.url, user, 'postgres'), async () => undefined), /password authentication failed/, user);
    }
    await withClient(pg!.superuserUrl, async (c) => assert.equal((await c.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper, true));
  });

  it('converts a home made with postgres/postgres as superuser, keeping its data', async () => {
    // Turn the cluster into the old layout: the bootstrap superuser named postgres with password postgres, no
    // credentials file, and a longhaul database migrated up to before this change with the old open defaults.
    const superuser = pg!.superuserUrl;
    await withClient(superuser, async (c) => {
      await c.query("create role longhaul_test_tmp login superuser password 'tmp'");
    });
    const tmp = withPassword(superuser, 'longhaul_test_tmp', 'tmp');
    for (const database of ['postgres', 'template1']) {
      await withClient(inDatabase(tmp, database), (c) => c.query('reassign owned by postgres to supabase_admin; drop owned by postgres'));
    }
    await withClient(tmp, (c) => c.query("drop role postgres; alter role supabase_admin rename to postgres; alter role postgres password 'postgres'"));
    const legacy = withPassword(superuser, 'postgres', 'postgres');
    await withClient(legacy, async (c) => {
      await c.query('drop role longhaul_test_tmp');
      await c.query('create database longhaul template template0');
    });
    let userId = '';
    await withClient(inDatabase(legacy, 'longhaul'), async (c) => {
      await c.query(localSql.before());
      await c.query(`alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
        alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
        alter default privileges in schema public grant all on functions to anon, authenticated, service_role;`);
      for (const m of readMigrations().filter((x) => x.version < '20261207')) {
        await c.query(m.sql);
        await c.query('insert into supabase_migrations.schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      }
      userId = (await c.query<{ id: string }>("insert into auth.users (email) values ('old@x') returning id")).rows[0]!.id;
      await c.query('select longhaul.grant_credits($1, 50)', [userId]);
      await c.query(`insert into public.jobs (kind, input, user_id) values ('workflow', '{"nodes":[{"id":"a","type":"llm","prompt":"p"}]}', $1)`, [userId]);
    });
    await pg!.stop();
    rmSync(credentialsFile(dataDir()));

    pg = await startPostgres({ dataDir: dataDir(), ephemeral: true });
    const credentials = JSON.parse(readFileSync(credentialsFile(dataDir()), 'utf8')) as ClusterCredentials;
    assert.equal(credentials.upgrading, undefined);
    assert.equal(statSync(credentialsFile(dataDir())).mode & 0o777, 0o600);
    await assert.rejects(withClient(withPassword(pg.superuserUrl, 'postgres', 'postgres'), async () => undefined), /password authentication failed/, 'the old superuser password is gone');
    await withClient(pg.superuserUrl, async (c) => {
      const roles = await c.query("select rolname, rolsuper from pg_roles where oid = 10 or rolname = 'postgres' order by oid");
      assert.deepEqual(roles.rows, [{ rolname: 'supabase_admin', rolsuper: true }, { rolname: 'postgres', rolsuper: false }]);
    });

    const app = inDatabase(pg.url, 'longhaul');
    const { applied } = await applyMigrations(app);
    assert.deepEqual(applied, readMigrations().filter((x) => x.version >= '20261207').map((x) => x.file), 'the new migrations apply as the demoted postgres');
    await withClient(app, async (c) => {
      const owners = await c.query<{ owner: string; n: string }>(
        `select pg_get_userbyid(relowner) as owner, count(*) as n from pg_class
         where relnamespace in ('public'::regnamespace, 'longhaul'::regnamespace, 'supabase_migrations'::regnamespace) and relkind in ('r', 'v', 'S') group by 1`,
      );
      assert.deepEqual(owners.rows.map((r) => r.owner), ['postgres'], 'the project\'s objects belong to postgres');
      assert.equal((await c.query("select pg_get_userbyid(relowner) as o from pg_class where oid = 'auth.users'::regclass")).rows[0].o, 'supabase_admin');
      assert.equal((await c.query('select count(*)::int as n from public.jobs where user_id = $1', [userId])).rows[0].n, 1, 'the old job is still there');
      await c.query('select longhaul.grant_credits($1, 5)', [userId]);
    });
    const pool = new Pool({ connectionString: app, max: 1 });
    try {
      const mine = await asSupabaseRole<{ id: string }>(pool, { role: 'authenticated', userId }, "insert into public.jobs (kind, input) values ('workflow', '{\"nodes\":[{\"id\":\"a\",\"type\":\"llm\",\"prompt\":\"p\"}]}') returning id");
      assert.equal(mine.length, 1);
      assert.equal((await asSupabaseRole(pool, { role: 'authenticated', userId }, 'select id from public.jobs')).length, 2);
    } finally {
      await pool.end();
    }
  });
});
