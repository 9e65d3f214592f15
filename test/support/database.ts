/** Per-file isolation on the shared test cluster: every test file works in a database of its own. */
import { randomBytes } from 'node:crypto';
import { Client, type Pool, type PoolClient } from 'pg';

function sharedAdminUrl(): string {
  const url = process.env.LONGHAUL_TEST_PG_URL;
  if (!url) throw new Error('LONGHAUL_TEST_PG_URL is not set: run tests through `npm test` (dist/test/run.js)');
  return url;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A database of its own on the shared test cluster, or on the cluster at `adminUrl` (tests that restart Postgres). */
export async function createTestDatabase(prefix: string, adminUrl: () => string = sharedAdminUrl): Promise<TestDatabase> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new Client({ connectionString: adminUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export function testStorageConnectionString(): string {
  const value = process.env.LONGHAUL_TEST_STORAGE;
  if (!value) throw new Error('LONGHAUL_TEST_STORAGE is not set: run tests through `npm test` (dist/test/run.js)');
  return value;
}

/**
 * Runs one statement as PostgREST would for a request: `role` and `request.jwt.claims` set for one transaction, and the
 * role's own settings (statement_timeout: 8 s for authenticated, 3 s for anon) applied as PostgREST applies an
 * impersonated role's settings, so RLS, grants and limits decide. `settings` adds transaction settings (the Realtime
 * service's `realtime.topic` when it authorizes a channel). `commit: false` rolls back (probes that must leave nothing
 * behind).
 */
export async function asSupabaseRole<T extends Record<string, unknown>>(
  pool: Pool,
  who: { role: 'authenticated' | 'anon' | 'service_role'; userId?: string; settings?: Record<string, string> },
  sql: string,
  values: unknown[] = [],
  opts: { commit: boolean } = { commit: true },
): Promise<T[]> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query('begin');
    const claims = who.userId ? { sub: who.userId, role: who.role } : { role: who.role };
    await client.query(
      `select set_config(split_part(s, '=', 1), substr(s, strpos(s, '=') + 1), true)
       from pg_db_role_setting, unnest(setconfig) s where setrole = $1::regrole and setdatabase in (0, (select oid from pg_database where datname = current_database()))`,
      [who.role],
    );
    await client.query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", [who.role, JSON.stringify(claims)]);
    for (const [name, value] of Object.entries(who.settings ?? {})) await client.query('select set_config($1, $2, true)', [name, value]);
    const { rows } = await client.query<T>(sql, values);
    await client.query(opts.commit ? 'commit' : 'rollback');
    return rows;
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}
