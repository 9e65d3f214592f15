/**
 * Who may log in to the embedded Postgres, as on a hosted Supabase project: a superuser (`supabase_admin`) that owns
 * the platform schemas and is never handed out, and `postgres` — NOSUPERUSER CREATEDB CREATEROLE REPLICATION
 * BYPASSRLS — which the migrations, the app and `local.json` use. Both passwords are random per home, kept in a file
 * beside the data directory readable by its owner only: a superuser can run operating-system commands
 * (`COPY … TO PROGRAM`), so a guessable one on loopback is a local privilege escalation.
 *
 * Homes made when `postgres`/`postgres` was the superuser are converted once at start (see upgradeLegacyCluster).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Client } from 'pg';
import { localSql } from '../supabase/migrate';

export const SUPERUSER = 'supabase_admin';
export const APP_ROLE = 'postgres';
/** The superuser and password of homes made before the roles were split. */
const LEGACY = { user: 'postgres', password: 'postgres' };
const UPGRADE_ROLE = 'longhaul_upgrade';
/** Schemas that stay the platform's when a legacy home's objects move to `postgres`. */
const PLATFORM_SCHEMAS = ['auth', 'storage', 'realtime', 'extensions', 'net', 'graphql', 'vault'];
const APP_ROLE_ATTRIBUTES = 'login nosuperuser createdb createrole replication bypassrls inherit';

export interface ClusterCredentials {
  superuser: { user: string; password: string };
  postgres: { password: string };
  /** Set while a legacy home is being converted; a start that finds it finishes the conversion. */
  upgrading?: boolean;
}

/** Where a data directory's credentials live: beside it, in the home (`<home>/pg.credentials.json`). */
export const credentialsFile = (requestedDataDir: string): string => `${requestedDataDir}.credentials.json`;

export function newCredentials(): ClusterCredentials {
  const secret = (): string => randomBytes(24).toString('base64url');
  return { superuser: { user: SUPERUSER, password: secret() }, postgres: { password: secret() } };
}

export function readCredentials(file: string): ClusterCredentials | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterCredentials;
}

export function writeCredentials(file: string, credentials: ClusterCredentials): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function roleUrl(user: string, password: string, port: number, database = 'postgres'): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Makes the running cluster match the credentials file — converting a legacy home when the file is missing or says
 * a conversion is under way — and installs the Supabase stub into template1 and every database whose copy is stale.
 */
export async function prepareCluster(opts: { port: number; file: string; log: (line: string) => void }): Promise<ClusterCredentials> {
  let credentials = readCredentials(opts.file);
  if (!credentials) {
    // Data without credentials: made by a longhaul whose superuser was postgres/postgres.
    credentials = { ...newCredentials(), upgrading: true };
    writeCredentials(opts.file, credentials);
  }
  if (credentials.upgrading) {
    opts.log('converting this home: postgres becomes a regular role, a new superuser with a random password owns the cluster');
    await upgradeLegacyCluster(opts.port, credentials);
    credentials = { superuser: credentials.superuser, postgres: credentials.postgres };
    writeCredentials(opts.file, credentials);
  }
  await installStub(opts.port, credentials);
  return credentials;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

async function tryConnect(url: string): Promise<Client | undefined> {
  try {
    return await connect(url);
  } catch {
    return undefined;
  }
}

/**
 * The bootstrap superuser of a cluster cannot lose SUPERUSER, so the legacy `postgres` is renamed to the new
 * superuser (by a temporary superuser: a session cannot rename its own role), a regular `postgres` is created, and
 * every database and project object the old superuser owned moves to it — platform schemas (auth, storage, …) stay.
 * Each step is idempotent, so a start interrupted half-way finishes the job.
 */
async function upgradeLegacyCluster(port: number, credentials: ClusterCredentials): Promise<void> {
  const superUrl = (database = 'postgres'): string => roleUrl(credentials.superuser.user, credentials.superuser.password, port, database);
  let admin = (await tryConnect(superUrl())) ?? (await tryConnect(roleUrl(LEGACY.user, LEGACY.password, port)));
  if (!admin) {
    throw new Error(
      'this home\'s Postgres data was made by an older longhaul, but neither its old superuser password nor the new one is accepted; ' +
        'move the data directory away (its jobs are lost) and start again',
    );
  }
  try {
    const bootstrap = (await admin.query<{ rolname: string }>('select rolname from pg_roles where oid = 10')).rows[0]!.rolname;
    if (bootstrap !== credentials.superuser.user) {
      const temporary = randomBytes(24).toString('base64url');
      await admin.query(`drop role if exists ${UPGRADE_ROLE}`);
      await admin.query(`create role ${UPGRADE_ROLE} login superuser password ${admin.escapeLiteral(temporary)}`);
      const renamer = await connect(roleUrl(UPGRADE_ROLE, temporary, port));
      try {
        await admin.end();
        await renamer.query(`alter role ${renamer.escapeIdentifier(bootstrap)} rename to ${SUPERUSER}`);
        await renamer.query(`alter role ${SUPERUSER} password ${renamer.escapeLiteral(credentials.superuser.password)}`);
      } finally {
        await renamer.end();
      }
      admin = await connect(superUrl());
      await admin.query(`drop role if exists ${UPGRADE_ROLE}`);
    }
    await ensureAppRole(admin, credentials);
    const databases = (await admin.query<{ datname: string }>("select datname from pg_database where datallowconn and datname not in ('postgres', 'template1')")).rows;
    for (const { datname } of databases) {
      await admin.query(`alter database ${admin.escapeIdentifier(datname)} owner to ${APP_ROLE}`);
      const db = await connect(superUrl(datname));
      try {
        await db.query(TRANSFER_PROJECT_OBJECTS);
      } finally {
        await db.end();
      }
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function ensureAppRole(admin: Client, credentials: ClusterCredentials): Promise<void> {
  const exists = (await admin.query('select 1 from pg_roles where rolname = $1', [APP_ROLE])).rowCount === 1;
  const password = admin.escapeLiteral(credentials.postgres.password);
  await admin.query(`${exists ? 'alter' : 'create'} role ${APP_ROLE} ${APP_ROLE_ATTRIBUTES} password ${password}`);
  // As on a hosted project, postgres may end other sessions (pg_terminate_backend, `drop database … with (force)`):
  // without it a drop fails whenever an autovacuum worker happens to be in the database.
  await admin.query(`grant pg_signal_backend to ${APP_ROLE}`);
}

// Everything the superuser owns outside the system and platform schemas was made by the project (migrations, the
// local Durable store): it moves to postgres, as if postgres had made it. Sequences owned by a column move with
// their table.
const TRANSFER_PROJECT_OBJECTS = `
do $$
declare
  v_admin oid := (select oid from pg_roles where rolname = '${SUPERUSER}');
  v_skip text[] := array['pg_catalog', 'information_schema', 'pg_toast', ${PLATFORM_SCHEMAS.map((s) => `'${s}'`).join(', ')}];
  r record;
begin
  for r in select n.nspname from pg_namespace n
           where n.nspowner = v_admin and n.nspname <> all (v_skip) and n.nspname not like 'pg\\_%' loop
    execute format('alter schema %I owner to ${APP_ROLE}', r.nspname);
  end loop;
  for r in select c.oid::regclass as obj, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relowner = v_admin and n.nspname <> all (v_skip) and n.nspname not like 'pg\\_%'
             and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
             and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i'))) loop
    execute format('alter %s %s owner to ${APP_ROLE}',
      case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end,
      r.obj);
  end loop;
  for r in select p.oid::regprocedure as obj, p.prokind from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.proowner = v_admin and n.nspname <> all (v_skip) and n.nspname not like 'pg\\_%'
             and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e') loop
    execute format('alter %s %s owner to ${APP_ROLE}', case r.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end, r.obj);
  end loop;
  for r in select t.oid::regtype as obj from pg_type t join pg_namespace n on n.oid = t.typnamespace
           where t.typowner = v_admin and n.nspname <> all (v_skip) and n.nspname not like 'pg\\_%'
             and t.typtype in ('e', 'd', 'r', 'm') and not exists (select 1 from pg_depend d where d.objid = t.oid and d.deptype = 'e') loop
    execute format('alter type %s owner to ${APP_ROLE}', r.obj);
  end loop;
  for r in select pubname from pg_publication where pubowner = v_admin loop
    execute format('alter publication %I owner to ${APP_ROLE}', r.pubname);
  end loop;
end
$$;`;

/**
 * Applies supabase/local/supabase_stub.sql as the superuser to template1 — so every database created afterwards
 * (`npm start`'s, each test's) starts as a Supabase project does, with its platform objects owned by the platform —
 * and to each existing database whose copy differs from the current file.
 */
async function installStub(port: number, credentials: ClusterCredentials): Promise<void> {
  const sql = localSql.before();
  const marker = `longhaul supabase stub ${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
  const superUrl = (database: string): string => roleUrl(credentials.superuser.user, credentials.superuser.password, port, database);
  const admin = await connect(superUrl('postgres'));
  try {
    await ensureAppRole(admin, credentials);
    const stale = (
      await admin.query<{ datname: string }>(
        "select datname from pg_database where datallowconn and coalesce(shobj_description(oid, 'pg_database'), '') <> $1 order by datname = 'template1' desc",
        [marker],
      )
    ).rows;
    for (const { datname } of stale) {
      const db = await connect(superUrl(datname));
      try {
        await db.query('begin');
        await db.query(sql);
        await db.query('commit');
      } catch (err) {
        await db.query('rollback').catch(() => undefined);
        throw new Error(`supabase/local/supabase_stub.sql failed in database ${datname}: ${(err as Error).message}`);
      } finally {
        await db.end();
      }
      await admin.query(`comment on database ${admin.escapeIdentifier(datname)} is ${admin.escapeLiteral(marker)}`);
    }
  } finally {
    await admin.end();
  }
}
