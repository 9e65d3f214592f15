/**
 * Privileges as a current hosted Supabase project has them: the migrations run as a `postgres` that is not a
 * superuser, nothing in public is granted automatically, and each API role holds exactly what
 * supabase/migrations/20261207000200_explicit_grants.sql grants. Storage policies are written by `postgres` on a table
 * it does not own, and an upsert of a recording (an UPDATE) works in the user's own folder only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { asSupabaseRole, createTestDatabase, type TestDatabase } from '../support/database';

const ROLES = ['anon', 'authenticated', 'service_role'] as const;
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
const DML = 'SELECT,INSERT,UPDATE,DELETE';

// What each API role may do with each of longhaul's relations in public, column grants included (INSERT(...)).
const EXPECTED: Record<string, Record<(typeof ROLES)[number], string>> = {
  jobs: { anon: '', authenticated: 'SELECT,INSERT(idempotency_key,input,kind,priority,user_id)', service_role: DML },
  job_events: { anon: '', authenticated: 'SELECT', service_role: DML },
  credit_accounts: { anon: '', authenticated: 'SELECT', service_role: DML },
  credit_ledger: { anon: '', authenticated: 'SELECT', service_role: DML },
  job_pricing: { anon: 'SELECT', authenticated: 'SELECT', service_role: DML },
  rag_documents: { anon: '', authenticated: 'SELECT', service_role: DML },
  job_stats: { anon: '', authenticated: 'SELECT', service_role: 'SELECT' },
  active_jobs: { anon: '', authenticated: 'SELECT', service_role: 'SELECT' },
  pending_jobs_queue: { anon: '', authenticated: 'SELECT', service_role: 'SELECT' },
  job_usage_by_kind: { anon: '', authenticated: 'SELECT', service_role: 'SELECT' },
  job_events_id_seq: { anon: '', authenticated: '', service_role: '' },
  credit_ledger_id_seq: { anon: '', authenticated: '', service_role: '' },
};

/** Each API role's privileges on each relation named in EXPECTED, in EXPECTED's notation. */
async function privilegeMatrix(pool: Pool): Promise<Record<string, Record<string, string>>> {
  const { rows } = await pool.query<{ relname: string; role: string; privileges: string }>(
    `select c.relname, r.role,
            concat_ws(',',
              nullif(array_to_string(array(select p from unnest($1::text[]) p where has_table_privilege(r.role, c.oid, p) order by array_position($1::text[], p)), ','), ''),
              case when c.relkind = 'S' and has_sequence_privilege(r.role, c.oid, 'USAGE') then 'USAGE' end,
              (select 'INSERT(' || string_agg(a.attname, ',' order by a.attname) || ')' from pg_attribute a
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and not has_table_privilege(r.role, c.oid, 'INSERT')
                  and has_column_privilege(r.role, c.oid, a.attname, 'INSERT'))) as privileges
       from pg_class c cross join unnest($2::text[]) r(role)
       where c.relnamespace = 'public'::regnamespace and c.relname = any ($3::text[])`,
    [TABLE_PRIVILEGES, [...ROLES], Object.keys(EXPECTED)],
  );
  const matrix: Record<string, Record<string, string>> = {};
  for (const row of rows) (matrix[row.relname] ??= {})[row.role] = row.privileges;
  return matrix;
}

describe('supabase: privileges as on a current hosted project', () => {
  let db: TestDatabase;
  let pool: Pool;
  let alice: string;
  let bob: string;

  before(async () => {
    db = await createTestDatabase('supabase_grants');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 3 });
    const newUser = async (): Promise<string> => {
      const id = (await pool.query<{ id: string }>('insert into auth.users (email) values (gen_random_uuid()::text) returning id')).rows[0]!.id;
      await pool.query('select longhaul.grant_credits($1, 100)', [id]);
      return id;
    };
    alice = await newUser();
    bob = await newUser();
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('runs the migrations as postgres, which is not a superuser and cannot run programs', async () => {
    const { rows } = await pool.query<{ user: string; rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean }>(
      'select current_user as user, rolsuper, rolbypassrls, rolcreaterole from pg_roles where rolname = current_user',
    );
    assert.deepEqual(rows[0], { user: 'postgres', rolsuper: false, rolbypassrls: true, rolcreaterole: true });
    await assert.rejects(pool.query("copy (select 1) to program 'true'"), (err: Error & { code?: string }) => err.code === '42501');
    const owners = await pool.query<{ schema: string; owner: string }>(
      "select nspname as schema, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname in ('auth', 'storage', 'realtime', 'longhaul') order by nspname",
    );
    assert.deepEqual(owners.rows, [
      { schema: 'auth', owner: 'supabase_admin' },
      { schema: 'longhaul', owner: 'postgres' },
      { schema: 'realtime', owner: 'supabase_realtime_admin' },
      { schema: 'storage', owner: 'supabase_storage_admin' },
    ]);
  });

  it('grants nothing automatically on new objects in public', async () => {
    await pool.query('create table public.probe_table (id int); create sequence public.probe_seq; create function public.probe_fn() returns int language sql as $$ select 1 $$');
    try {
      const { rows } = await pool.query<{ role: string; t: boolean; s: boolean; f: boolean }>(
        `select r as role, has_table_privilege(r, 'public.probe_table', 'select,insert,update,delete,truncate,references,trigger') as t,
                has_sequence_privilege(r, 'public.probe_seq', 'usage,select,update') as s,
                exists (select 1 from pg_proc p, aclexplode(p.proacl) a where p.proname = 'probe_fn' and a.grantee = r::regrole) as f
         from unnest(array['anon', 'authenticated', 'service_role']) r`,
      );
      assert.deepEqual(rows, ROLES.map((role) => ({ role, t: false, s: false, f: false })));
    } finally {
      await pool.query('drop table public.probe_table; drop sequence public.probe_seq; drop function public.probe_fn()');
    }
  });

  it('gives each API role exactly its privileges on longhaul\'s relations in public', async () => {
    assert.deepEqual(await privilegeMatrix(pool), EXPECTED);
    await assert.rejects(asSupabaseRole(pool, { role: 'authenticated', userId: alice }, "select nextval('public.credit_ledger_id_seq')"), /permission denied/);
    await assert.rejects(asSupabaseRole(pool, { role: 'anon' }, "select nextval('public.job_events_id_seq')"), /permission denied/);
    await assert.rejects(asSupabaseRole(pool, { role: 'authenticated', userId: alice }, 'delete from public.active_jobs'), /permission denied/);
  });

  it('lets the service role do what the admin side does: read every table and view, submit, grant credits', async () => {
    const service = <T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> => asSupabaseRole<T>(pool, { role: 'service_role' }, sql, values);
    const [job] = await service<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', '{\"nodes\":[{\"id\":\"a\",\"type\":\"llm\",\"prompt\":\"p\"}]}', $1) returning id", [alice]);
    for (const relation of Object.keys(EXPECTED).filter((r) => !r.endsWith('_seq'))) await service(`select * from public.${relation} limit 1`);
    const longhaulTables = (await pool.query<{ relname: string }>("select relname from pg_class where relnamespace = 'longhaul'::regnamespace and relkind = 'r'")).rows.map((r) => r.relname);
    for (const table of longhaulTables) await service(`select * from longhaul.${table} limit 1`);
    await service('select longhaul.grant_credits($1, 5)', [bob]);
    assert.equal((await service<{ status: string }>("select (longhaul.start_job($1, 1, 'operator')).status", [job!.id]))[0]!.status, 'running');
  });

  it('has postgres write policies on storage.objects without owning it, and lets a user upsert in their own folder only', async () => {
    const owner = (await pool.query<{ owner: string }>("select pg_get_userbyid(relowner) as owner from pg_class where oid = 'storage.objects'::regclass")).rows[0]!.owner;
    assert.equal(owner, 'supabase_storage_admin');
    // What Storage runs for an upload with upsert: true, as the signed-in user.
    const upsert = (user: string, name: string): Promise<unknown[]> =>
      asSupabaseRole(pool, { role: 'authenticated', userId: user },
        "insert into storage.objects (bucket_id, name, owner, metadata) values ('recordings', $1, $2, '{\"size\":1}') on conflict (bucket_id, name) do update set metadata = excluded.metadata, updated_at = now() returning id",
        [name, user]);
    assert.equal((await upsert(alice, `${alice}/standup.mp3`)).length, 1);
    assert.equal((await upsert(alice, `${alice}/standup.mp3`)).length, 1, 'the second upload replaces the first');
    await pool.query("insert into storage.objects (bucket_id, name) values ('recordings', $1)", [`${bob}/his.mp3`]);
    await assert.rejects(upsert(alice, `${bob}/his.mp3`), /row-level security/);
    const moved = asSupabaseRole(pool, { role: 'authenticated', userId: alice }, "update storage.objects set name = $1 where name = $2", [`${bob}/stolen.mp3`, `${alice}/standup.mp3`]);
    await assert.rejects(moved, /row-level security/);
  });
});

describe('supabase: privileges of a project made before 2026-05-30 (every new object granted to the API roles)', () => {
  let db: TestDatabase;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase('supabase_grants_old');
    pool = new Pool({ connectionString: db.url, max: 1 });
    // The old hosted default: everything postgres creates in public is granted to anon, authenticated and service_role.
    await pool.query(`alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
      alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
      alter default privileges in schema public grant all on functions to anon, authenticated, service_role;`);
    await applyMigrations(db.url);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('ends with exactly the same privileges: the old broad grants are cleared', async () => {
    assert.deepEqual(await privilegeMatrix(pool), EXPECTED);
  });
});
