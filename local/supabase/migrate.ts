/**
 * Applies supabase/migrations to a plain Postgres the way `supabase db push` applies them to a project: in version
 * order, each once, recorded in supabase_migrations.schema_migrations. Before the first migration it creates what
 * Supabase provides (supabase/local/supabase_stub.sql); after the last it installs the local webhook stand-in
 * (supabase/local/webhook_notify.sql). Safe to run from several processes at once (advisory lock).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

const supabaseDir = resolve(__dirname, '..', '..', '..', 'supabase');
// Arbitrary constant: serialises concurrent migration runs on one database.
const MIGRATION_LOCK = 7_071_001;

export interface MigrationResult {
  applied: string[];
}

export interface Migration {
  version: string;
  name: string;
  file: string;
  sql: string;
}

/** The migrations in the order `supabase db push` applies them. */
export function readMigrations(): Migration[] {
  return readdirSync(join(supabaseDir, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match?.[1] || !match[2]) throw new Error(`migration ${file} is not named <version>_<name>.sql`);
      return { version: match[1], name: match[2], file, sql: readFileSync(join(supabaseDir, 'migrations', file), 'utf8') };
    });
}

/** What plain Postgres needs before the migrations (Supabase's roles and auth) and after them (the webhook stand-in). */
export const localSql = {
  before: (): string => readFileSync(join(supabaseDir, 'local', 'supabase_stub.sql'), 'utf8'),
  after: (): string => readFileSync(join(supabaseDir, 'local', 'webhook_notify.sql'), 'utf8'),
};

export async function applyMigrations(databaseUrl: string): Promise<MigrationResult> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const { rows } = await client.query<{ present: boolean }>("select to_regclass('supabase_migrations.schema_migrations') is not null as present");
    if (!rows[0]?.present) await runSql(client, localSql.before(), 'supabase/local/supabase_stub.sql');
    const done = new Set((await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const migration of readMigrations()) {
      if (done.has(migration.version)) continue;
      await client.query('begin');
      try {
        await client.query(migration.sql);
        await client.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [migration.version, migration.name, [migration.sql]]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${migration.file} failed: ${(err as Error).message}`);
      }
      applied.push(migration.file);
    }
    await runSql(client, localSql.after(), 'supabase/local/webhook_notify.sql');
    return { applied };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

async function runSql(client: Client, sql: string, file: string): Promise<void> {
  await client.query('begin');
  try {
    await client.query(sql);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw new Error(`${file} failed: ${(err as Error).message}`);
  }
}
