/**
 * Property-based fuzzing of what a signed-in user reaches through Supabase's Data API, run the way PostgREST runs a
 * request (role `authenticated` and the JWT claims set for one transaction, the body passed as one JSON parameter):
 * INSERT into public.jobs with every column `authenticated` may insert, SELECT/UPDATE/DELETE on every table and view
 * in a schema it may use, and a call of every function it may execute — all read from the catalog at run time, so a
 * new grant is fuzzed without touching this file. Two users, alice and bob, act against each other; each has jobs in
 * every state, ledgers, idempotency keys, a RAG document, a job file and marker strings in inputs and results.
 * Properties: no error (message, detail, hint, context) and no row one user sees carries the other's data (ids, job
 * ids, keys, markers, document, file and model names, balance) unless the request itself sent it; naming the other
 * user's id or job id answers exactly like naming a uuid nobody has; nothing one user does changes the other's rows or
 * the prices; the Postgres backend's peak RSS (VmHWM) stays within backendPeakLimitMb() of the widest body sent.
 * Seed printed; FUZZ_SEED replays, FUZZ_DATA_CASES sets the number of cases, FUZZ_DATA_WIDE_BYTES the widest input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Client, Pool, type DatabaseError } from 'pg';
import { applyMigrations } from '../../local/supabase/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { edgeNumber, FUZZ_SEED, junkJson, KIND_NAMES, kindInputs, nastyString, wideSpec, wideValue, type WideSpec } from './arbitraries';

const CASES = Number(process.env.FUZZ_DATA_CASES ?? 2_000);
/** The widest request body the fuzz sends (JSON text); peak memory is asserted up to here. */
const WIDE_MAX_BYTES = Number(process.env.FUZZ_DATA_WIDE_BYTES ?? 1024 * 1024);
// Postgres turns a Data API body into jsonb before any trigger can look at it: up to ~240 bytes of backend memory per
// body byte for the densest JSON (1 MiB of `{}` peaks at ~260 MB; measured, docs/security.md). What the migrations
// control — the admission trigger, pricing, storing — must add nothing on top of that parse.
const BACKEND_BASE_MB = 64;
const BACKEND_BYTES_PER_BODY_BYTE = 300;
const backendPeakLimitMb = (widestBody: number): number => BACKEND_BASE_MB + (BACKEND_BYTES_PER_BODY_BYTE * widestBody) / (1024 * 1024);

/**
 * A fresh uuid that a JSON or number parser splits exactly as it splits `id`: a digit wherever `id` has a digit, `e`
 * where it has `e` (an exponent), another letter where it has another letter.
 */
function sameShapeUuid(id: string): string {
  const bytes = randomBytes(id.length);
  return [...id].map((ch, i) => (/[0-9]/.test(ch) ? String(bytes[i]! % 10) : /e/i.test(ch) ? ch : /[a-f]/i.test(ch) ? 'abcdf'[bytes[i]! % 5]! : ch)).join('');
}

interface Party {
  name: 'alice' | 'bob';
  id: string;
  /** Written into the party's inputs, results and errors: no answer to the other party may contain it. */
  marker: string;
  jobs: string[];
  idempotencyKeys: string[];
  documentId: string;
  fileName: string;
  model: string;
}

interface Column {
  name: string;
  type: string;
  /** authenticated holds UPDATE on it (grants decide where the fuzz aims its updates; RLS must still hold). */
  updatable?: boolean;
}
interface Relation {
  schema: string;
  name: string;
  kind: string;
  columns: Column[];
  /** authenticated holds DELETE on it. */
  deletable: boolean;
}
interface Fn {
  schema: string;
  name: string;
  args: { name: string; type: string; optional: boolean }[];
  /** Some argument has no name: PostgREST cannot call it by name, so it is called positionally with every argument. */
  positional: boolean;
}

/** A value in a case, resolved when the case runs (which user acts decides what "the victim's id" is). */
type Val =
  | { lit: unknown }
  | { ref: 'victimId' | 'ownId' | 'randomUuid' | 'victimMarker' | 'ownMarker' | 'victimDocument' | 'victimFile' | 'victimModel' | 'victimBalance' | 'ownBalance' }
  | { ref: 'victimJob' | 'ownJob' | 'victimKey' | 'ownKey'; i: number }
  | { wide: WideSpec }
  /** An image_generation input costing the victim's (or the actor's) balance plus `offset` credits. */
  | { priced: 'victim' | 'own'; offset: number };

type Filter = { column: number; op: 'eq' | 'neq' | 'gt' | 'like' | 'isnull'; value: Val };
type Case =
  | { op: 'insert'; actor: 0 | 1; rows: Record<string, Val>[]; returning: boolean; commit: boolean }
  | { op: 'select'; actor: 0 | 1; rel: number; filter?: Filter; commit: boolean }
  | { op: 'update'; actor: 0 | 1; rel: number; column: number; value: Val; filter?: Filter; returning: boolean; commit: boolean }
  | { op: 'delete'; actor: 0 | 1; rel: number; filter?: Filter; returning: boolean; commit: boolean }
  | { op: 'rpc'; actor: 0 | 1; fn: number; args: (Val | null)[]; commit: boolean };

/** What the caller sees: rows, or the error fields PostgREST forwards (plus the context, which we check too). */
interface Outcome {
  ok: boolean;
  rows: Record<string, unknown>[];
  rowCount: number;
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  where?: string;
  text: string;
}

const q = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;
const POLYMORPHIC = /^any/;

describe(`Data API fuzzing as two users (seed ${FUZZ_SEED}, ${CASES} cases, inputs up to ${WIDE_MAX_BYTES} bytes; FUZZ_SEED / FUZZ_DATA_CASES / FUZZ_DATA_WIDE_BYTES)`, () => {
  let db: TestDatabase;
  let admin: Pool;
  let fuzz: Client;
  let backendPid: number;
  let parties: [Party, Party];
  let insertColumns: Column[];
  let relations: Relation[];
  let functions: Fn[];

  // Collected by the fuzz run, asserted by the tests after it.
  const leaks: string[] = [];
  const oracles: string[] = [];
  const changes: string[] = [];
  const crashes: string[] = [];
  const counts = new Map<string, number>();
  let peak: { kb: number; at: string } | null = null;
  let widestBody = 0;
  let memoryUnreadable: string | null = null;
  let ran = 0;

  const vmHwmKb = (pid: number): number | null => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) : null;
    } catch (err) {
      memoryUnreadable = `/proc/${pid}/status: ${(err as Error).message}`;
      return null;
    }
  };

  async function connect(): Promise<void> {
    fuzz = new Client({ connectionString: db.url });
    // A backend that dies mid-case is reported as a crash by the case, not as an unhandled event.
    fuzz.on('error', () => undefined);
    await fuzz.connect();
    await fuzz.query("set statement_timeout = '30s'");
    backendPid = (await fuzz.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  }

  /** Runs `sql` as `who` the way asSupabaseRole does (role and claims local to the transaction), on the fuzz backend. */
  async function asUser(who: Party, sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
    await fuzz.query('begin');
    try {
      await fuzz.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: who.id, role: 'authenticated', aud: 'authenticated' })]);
      const { rows } = await fuzz.query<Record<string, unknown>>(sql, values);
      await fuzz.query('commit');
      return rows;
    } catch (err) {
      await fuzz.query('rollback');
      throw err;
    }
  }

  /** A user with a job in every state, keys, a ledger, a RAG document and a file; `credits` makes the balance distinctive. */
  async function makeParty(name: Party['name'], credits: number): Promise<Party> {
    const tag = randomBytes(5).toString('hex');
    const id = (await admin.query<{ id: string }>('insert into auth.users (email) values ($1) returning id', [`${name}-${tag}@test.local`])).rows[0]!.id;
    await admin.query('select longhaul.grant_credits($1, $2)', [id, credits]);
    const p: Party = { name, id, marker: `mark-${name}-${tag}`, jobs: [], idempotencyKeys: [`key-${name}-${tag}-1`, `key-${name}-${tag}-2`], documentId: `doc-${name}-${tag}`, fileName: `file-${name}-${tag}.png`, model: `model-${name}-${tag}` };
    const submit = async (kind: string, input: unknown, key: string | null = null): Promise<string> => {
      const [row] = await asUser(p, 'insert into public.jobs (kind, input, idempotency_key) values ($1, $2, $3) returning id', [kind, JSON.stringify(input), key]);
      p.jobs.push(String(row!.id));
      return String(row!.id);
    };
    const llm = (prompt: string) => ({ nodes: [{ id: 'a', type: 'llm', prompt }] });
    await submit('workflow', llm(`${p.marker} pending`), p.idempotencyKeys[0]);
    const queued = await submit('workflow', llm(`${p.marker} queued`), p.idempotencyKeys[1]);
    await admin.query("select longhaul.mark_queued($1, 1, 't')", [queued]);
    const done = await submit('workflow', llm(`${p.marker} done`));
    await admin.query("select longhaul.start_job($1, 1, 't')", [done]);
    await admin.query("select longhaul.complete_job($1, 1, $2, 't')", [done, JSON.stringify({ outputs: { a: `${p.marker} result` }, completed: 1, files: [p.fileName] })]);
    await admin.query("insert into longhaul.job_files (job_id, name, content_type, data) values ($1, $2, 'image/png', $3)", [done, p.fileName, Buffer.from(p.marker)]);
    const failed = await submit('image_generation', { prompts: [`${p.marker} image`] });
    await admin.query("select longhaul.start_job($1, 1, 't')", [failed]);
    await admin.query("select longhaul.fail_job($1, 1, $2, 't')", [failed, JSON.stringify({ code: 'provider_error', message: `${p.marker} failed` })]);
    const rag = await submit('rag_ingestion', { documentId: p.documentId, segments: [{ seq: 0, text: `${p.marker} transcript`, startMs: 0, endMs: 1000 }] });
    await admin.query("select longhaul.start_job($1, 1, 't')", [rag]);
    await admin.query(
      "insert into longhaul.rag_chunks (job_id, seq, user_id, document_id, segment_seq, part, text, start_ms, end_ms, embedding) values ($1, 0, $2, $3, 0, 0, $4, 0, 1000, '{0.25,0.5,0.75,1}')",
      [rag, id, p.documentId, `${p.marker} chunk`],
    );
    await admin.query('select longhaul.rag_publish($1, $2)', [rag, p.model]);
    await admin.query("select longhaul.complete_job($1, 1, '{}'::jsonb, 't')", [rag]);
    return p;
  }

  before(async () => {
    db = await createTestDatabase('security_data_fuzz');
    await applyMigrations(db.url);
    admin = new Pool({ connectionString: db.url, max: 2 });
    admin.on('error', () => undefined);
    await connect();
    // Distinctive balances: a figure like 4,721 in the other user's answer is a leak, not a coincidence.
    parties = [await makeParty('alice', 3_192), await makeParty('bob', 4_726)];

    insertColumns = (
      await admin.query<Column>(
        `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
         where a.attrelid = 'public.jobs'::regclass and a.attnum > 0 and not a.attisdropped
           and has_column_privilege('authenticated', a.attrelid, a.attnum, 'INSERT') order by a.attnum`,
      )
    ).rows;
    relations = (
      await admin.query<{ schema: string; name: string; kind: string; columns: string[]; types: string[]; updatable: boolean[]; deletable: boolean }>(
        `select n.nspname as schema, c.relname as name, c.relkind::text as kind,
                array_agg(a.attname::text order by a.attnum) as columns, array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum) as types,
                array_agg(has_column_privilege('authenticated', c.oid, a.attnum, 'UPDATE') order by a.attnum) as updatable,
                has_table_privilege('authenticated', c.oid, 'DELETE') as deletable
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         where c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
           and has_schema_privilege('authenticated', n.oid, 'USAGE')
         group by 1, 2, 3, c.oid order by 1, 2`,
      )
    ).rows.map((r) => ({ schema: r.schema, name: r.name, kind: r.kind, columns: r.columns.map((name, i) => ({ name, type: r.types[i]!, updatable: r.updatable[i]! })), deletable: r.deletable }));
    functions = (
      await admin.query<{ schema: string; name: string; defaults: number; names: string[] | null; modes: string[] | null; types: string[] }>(
        `select n.nspname as schema, p.proname as name, p.pronargdefaults::int as defaults, p.proargnames::text[] as names,
                p.proargmodes::text[] as modes, array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality a(t, i) order by i) as types
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.prokind = 'f' and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
           and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
           and has_schema_privilege('authenticated', n.oid, 'USAGE') and has_function_privilege('authenticated', p.oid, 'EXECUTE')
           and not exists (select 1 from unnest(p.proargtypes::oid[]) t where t in ('internal'::regtype, 'cstring'::regtype))
         order by 1, 2, p.oid`,
      )
    ).rows.map((r) => {
      const inputNames = r.modes ? (r.names ?? []).filter((_, i) => ['i', 'b', 'v'].includes(r.modes![i]!)) : (r.names ?? []).slice(0, r.types.length);
      const args = r.types.map((type, i) => ({ name: inputNames[i] ?? '', type: POLYMORPHIC.test(type) ? 'text' : type, optional: i >= r.types.length - r.defaults }));
      return { schema: r.schema, name: r.name, args, positional: args.some((a) => !a.name) };
    });
  });

  after(async () => {
    await fuzz?.end().catch(() => undefined);
    await admin?.end();
    await db?.drop();
  });

  // Values --------------------------------------------------------------------------------------------------------

  const lit = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Val> => a.map((v) => ({ lit: v }));
  const ref = (r: Extract<Val, { ref: string; i?: undefined }>['ref']): fc.Arbitrary<Val> => fc.constant({ ref: r } as Val);
  const indexed = (r: 'victimJob' | 'ownJob' | 'victimKey' | 'ownKey'): fc.Arbitrary<Val> => fc.nat(20).map((i) => ({ ref: r, i }));
  const uuidVal = fc.oneof(
    { weight: 4, arbitrary: ref('victimId') },
    { weight: 4, arbitrary: indexed('victimJob') },
    { weight: 2, arbitrary: ref('ownId') },
    { weight: 2, arbitrary: indexed('ownJob') },
    { weight: 2, arbitrary: ref('randomUuid') },
    { weight: 1, arbitrary: lit(nastyString()) },
  );
  const textVal = fc.oneof(
    { weight: 2, arbitrary: ref('victimMarker') },
    { weight: 1, arbitrary: ref('victimDocument') },
    { weight: 1, arbitrary: ref('victimFile') },
    { weight: 1, arbitrary: ref('victimModel') },
    { weight: 2, arbitrary: indexed('victimKey') },
    { weight: 1, arbitrary: ref('ownMarker') },
    { weight: 1, arbitrary: uuidVal },
    { weight: 4, arbitrary: lit(nastyString()) },
    { weight: 1, arbitrary: fc.record({ wide: wideSpec(WIDE_MAX_BYTES) }) },
  );
  const numberVal = fc.oneof({ weight: 3, arbitrary: lit(edgeNumber()) }, { weight: 1, arbitrary: ref('victimBalance') }, { weight: 1, arbitrary: lit(nastyString()) });
  const arrayVal = fc.oneof(
    lit(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -2, max: 2 }), { maxLength: 8 })),
    lit(fc.constant([0.25, 0.5, 0.75, 1])),
    lit(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2000, maxLength: 20_000 })),
    lit(junkJson()),
  );
  const jsonVal = fc.oneof({ weight: 4, arbitrary: lit(junkJson()) }, { weight: 1, arbitrary: fc.record({ wide: wideSpec(WIDE_MAX_BYTES) }) }, { weight: 1, arbitrary: uuidVal }, { weight: 1, arbitrary: ref('victimMarker') });
  function valueFor(type: string): fc.Arbitrary<Val> {
    const base = type.replace(/\(.*\)/, '');
    if (base === 'uuid') return uuidVal;
    if (/\[\]$/.test(base)) return arrayVal;
    if (['integer', 'bigint', 'smallint', 'numeric', 'double precision', 'real'].includes(base)) return numberVal;
    if (base === 'jsonb' || base === 'json') return jsonVal;
    if (base === 'boolean') return lit(fc.constantFrom(true, false, null, 'yes', 2));
    if (base.startsWith('timestamp')) return lit(fc.constantFrom('2026-12-07T10:00:00Z', 'infinity', '-infinity', 'epoch', '2026-13-45', null));
    return textVal;
  }

  // Cases ---------------------------------------------------------------------------------------------------------

  /** One row for public.jobs over the granted columns: kind and input agree often enough to reach the charge. */
  function jobRow(): fc.Arbitrary<Record<string, Val>> {
    const kindInput = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...KIND_NAMES).chain((kind) => kindInputs[kind]!.map((input) => ({ kind: { lit: kind } as Val, input: { lit: input } as Val }))) },
      { weight: 3, arbitrary: fc.record({ target: fc.constantFrom<'victim' | 'own'>('victim', 'own'), offset: fc.oneof(fc.integer({ min: -5, max: -1 }), fc.integer({ min: 1, max: 5 })) }).map(({ target, offset }) => ({ kind: { lit: 'image_generation' } as Val, input: { priced: target, offset } as Val })) },
      { weight: 2, arbitrary: fc.constantFrom<Val>({ ref: 'victimMarker' }, { ref: 'victimDocument' }, { ref: 'victimFile' }).map((v) => ({ kind: { lit: 'workflow' } as Val, input: { lit: { nodes: [{ id: 'a', type: 'text', text: '' }] }, embed: v } as unknown as Val })) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...KIND_NAMES), wideSpec(WIDE_MAX_BYTES)).map(([kind, wide]) => ({ kind: { lit: kind } as Val, input: { wide } as Val })) },
      { weight: 1, arbitrary: fc.record({ kind: textVal, input: jsonVal }) },
    );
    const others: Record<string, fc.Arbitrary<Val>> = {};
    for (const c of insertColumns) {
      if (c.name === 'kind' || c.name === 'input') continue;
      if (c.name === 'user_id') others[c.name] = fc.oneof({ weight: 4, arbitrary: ref('victimId') }, { weight: 2, arbitrary: ref('ownId') }, { weight: 1, arbitrary: ref('randomUuid') }, { weight: 1, arbitrary: lit(fc.constantFrom(null, 'not-a-uuid')) });
      else if (c.name === 'idempotency_key') others[c.name] = fc.oneof({ weight: 4, arbitrary: indexed('victimKey') }, { weight: 1, arbitrary: indexed('ownKey') }, { weight: 2, arbitrary: lit(fc.string({ minLength: 1, maxLength: 30 })) }, { weight: 1, arbitrary: textVal });
      else if (c.name === 'priority') others[c.name] = fc.oneof(lit(fc.integer({ min: -100, max: 100 })), numberVal);
      else others[c.name] = valueFor(c.type);
    }
    return fc.tuple(kindInput, fc.record(others, { requiredKeys: [] })).map(([ki, rest]) => ({ ...rest, ...ki }));
  }

  function cases(): fc.Arbitrary<Case> {
    const actor = fc.constantFrom<0 | 1>(0, 1);
    const commit = fc.boolean();
    const filter = (rel: Relation): fc.Arbitrary<Filter | undefined> =>
      fc.option(
        fc.nat(rel.columns.length - 1).chain((column) => fc.record({ column: fc.constant(column), op: fc.constantFrom<Filter['op']>('eq', 'eq', 'eq', 'neq', 'gt', 'like', 'isnull'), value: valueFor(rel.columns[column]!.type) })),
        { freq: 4, nil: undefined },
      );
    // Mostly a column the role may update (where a missing RLS policy would show), sometimes any column.
    const updateColumn = (rel: Relation): fc.Arbitrary<number> => {
      const granted = rel.columns.flatMap((c, i) => (c.updatable ? [i] : []));
      return granted.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...granted) }, { weight: 1, arbitrary: fc.nat(rel.columns.length - 1) }) : fc.nat(rel.columns.length - 1);
    };
    const onRelation = <T>(make: (rel: Relation, i: number) => fc.Arbitrary<T>, granted: (rel: Relation) => boolean = () => false): fc.Arbitrary<T> => {
      // Writes aim mostly at relations the role may write (a missing or loose RLS policy shows there), sometimes anywhere.
      const writable = relations.flatMap((r, i) => (granted(r) ? [i] : []));
      const index = writable.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...writable) }, { weight: 1, arbitrary: fc.nat(relations.length - 1) }) : fc.nat(relations.length - 1);
      return index.chain((i) => make(relations[i]!, i));
    };
    const arbs: { weight: number; arbitrary: fc.Arbitrary<Case> }[] = [
      { weight: 40, arbitrary: fc.record({ op: fc.constant('insert' as const), actor, rows: fc.oneof({ weight: 5, arbitrary: jobRow().map((r) => [r]) }, { weight: 1, arbitrary: fc.array(jobRow(), { minLength: 2, maxLength: 3 }) }), returning: fc.boolean(), commit }) },
      { weight: 15, arbitrary: onRelation((rel, i) => fc.record({ op: fc.constant('select' as const), actor, rel: fc.constant(i), filter: filter(rel), commit })) },
      { weight: 8, arbitrary: onRelation((rel, i) => updateColumn(rel).chain((column) => fc.record({ op: fc.constant('update' as const), actor, rel: fc.constant(i), column: fc.constant(column), value: valueFor(rel.columns[column]!.type), filter: filter(rel), returning: fc.boolean(), commit })), (rel) => rel.columns.some((c) => c.updatable)) },
      { weight: 5, arbitrary: onRelation((rel, i) => fc.record({ op: fc.constant('delete' as const), actor, rel: fc.constant(i), filter: filter(rel), returning: fc.boolean(), commit }), (rel) => rel.deletable) },
    ];
    if (functions.length > 0) {
      arbs.push({
        weight: 30,
        arbitrary: fc.nat(functions.length - 1).chain((i) =>
          fc.record({ op: fc.constant('rpc' as const), actor, fn: fc.constant(i), args: fc.tuple(...functions[i]!.args.map((a) => (a.optional ? fc.option(valueFor(a.type), { freq: 3, nil: null }) : valueFor(a.type)))).map((v) => v as (Val | null)[]), commit }),
        ),
      });
    }
    return fc.oneof(...arbs);
  }

  // Running a case ------------------------------------------------------------------------------------------------

  interface Live {
    actor: Party;
    victim: Party;
    balances: { own: number; victim: number };
  }

  function resolve(v: Val, live: Live): unknown {
    if ('lit' in v) {
      const embed = (v as { embed?: Val }).embed;
      // A valid input that carries one of the victim's strings (a marker, a document or file name).
      if (embed) return { ...(v.lit as Record<string, unknown>), note: resolve(embed, live) };
      return v.lit;
    }
    if ('wide' in v) return wideValue(v.wide);
    if ('priced' in v) {
      const cost = Math.max(1, (v.priced === 'victim' ? live.balances.victim : live.balances.own) + v.offset);
      return { prompts: Array.from({ length: cost }, () => 'p'), imagesPerPrompt: 1 };
    }
    const { actor, victim } = live;
    switch (v.ref) {
      case 'victimId':
        return victim.id;
      case 'ownId':
        return actor.id;
      case 'randomUuid':
        return randomUUID();
      case 'victimMarker':
        return victim.marker;
      case 'ownMarker':
        return actor.marker;
      case 'victimDocument':
        return victim.documentId;
      case 'victimFile':
        return victim.fileName;
      case 'victimModel':
        return victim.model;
      case 'victimBalance':
        return live.balances.victim;
      case 'ownBalance':
        return live.balances.own;
      case 'victimJob':
        return victim.jobs[v.i % victim.jobs.length];
      case 'ownJob':
        return actor.jobs[v.i % actor.jobs.length];
      case 'victimKey':
        return victim.idempotencyKeys[v.i % victim.idempotencyKeys.length];
      case 'ownKey':
        return actor.idempotencyKeys[v.i % actor.idempotencyKeys.length];
    }
  }

  const asParam = (value: unknown): string | null => (value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value));

  /**
   * The statement PostgREST would run for the case, with its parameters. Writes return rows or not (Prefer:
   * return=representation or minimal): without RETURNING and a filter, only the write policy decides which rows change.
   */
  function statement(c: Case, live: Live): { sql: string; params: unknown[] } {
    const where = (rel: Relation, f: Filter | undefined, params: unknown[]): string => {
      if (!f) return '';
      const col = q(rel.columns[f.column]!.name);
      if (f.op === 'isnull') return ` where ${col} is null`;
      params.push(asParam(resolve(f.value, live)));
      const p = `$${params.length}`;
      return f.op === 'like' ? ` where ${col}::text like ${p}` : ` where ${col} ${f.op === 'eq' ? '=' : f.op === 'neq' ? '<>' : '>'} ${p}`;
    };
    switch (c.op) {
      case 'insert': {
        const rows = c.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, resolve(v, live)])));
        const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
        const types = new Map(insertColumns.map((col) => [col.name, col.type]));
        const body = rows.length === 1 ? rows[0] : rows;
        return {
          sql:
            `insert into public.jobs (${cols.map(q).join(', ')}) select ${cols.map((k) => `_.${q(k)}`).join(', ')} ` +
            `from json_to_recordset(case when json_typeof($1::json) = 'array' then $1::json else json_build_array($1::json) end) as _(${cols.map((k) => `${q(k)} ${types.get(k) ?? 'text'}`).join(', ')})` +
            (c.returning ? ' returning *' : ''),
          params: [JSON.stringify(body)],
        };
      }
      case 'select': {
        const rel = relations[c.rel]!;
        const params: unknown[] = [];
        return { sql: `select * from ${q(rel.schema)}.${q(rel.name)}${where(rel, c.filter, params)} limit 100`, params };
      }
      case 'update': {
        const rel = relations[c.rel]!;
        const params: unknown[] = [asParam(resolve(c.value, live))];
        return { sql: `update ${q(rel.schema)}.${q(rel.name)} set ${q(rel.columns[c.column]!.name)} = $1${where(rel, c.filter, params)}${c.returning ? ' returning *' : ''}`, params };
      }
      case 'delete': {
        const rel = relations[c.rel]!;
        const params: unknown[] = [];
        return { sql: `delete from ${q(rel.schema)}.${q(rel.name)}${where(rel, c.filter, params)}${c.returning ? ' returning *' : ''}`, params };
      }
      case 'rpc': {
        const fn = functions[c.fn]!;
        const given = fn.args.map((a, i) => ({ ...a, i, value: c.args[i] })).filter((a) => fn.positional || a.value !== null);
        const record: Record<string, unknown> = {};
        for (const a of given) record[`a${a.i}`] = a.value ? resolve(a.value, live) : null;
        const call = `${q(fn.schema)}.${q(fn.name)}(${given.map((a) => (fn.positional ? `_.a${a.i}` : `${q(a.name)} := _.a${a.i}`)).join(', ')})`;
        if (given.length === 0) return { sql: `select f.* from ${call} as f`, params: [] };
        return { sql: `select f.* from json_to_record($1::json) as _(${given.map((a) => `a${a.i} ${a.type}`).join(', ')}), lateral ${call} as f`, params: [JSON.stringify(record)] };
      }
    }
  }

  /** Everything of a user another user must not be able to change, read as the database owner. */
  const SNAPSHOT = `select jsonb_build_object(
      'user', (select to_jsonb(u) from auth.users u where u.id = $1),
      'jobs', (select jsonb_agg(to_jsonb(j) order by j.id) from public.jobs j where j.user_id = $1),
      'events', (select jsonb_agg(to_jsonb(e) order by e.id) from public.job_events e where e.user_id = $1),
      'account', (select to_jsonb(a) from public.credit_accounts a where a.user_id = $1),
      'ledger', (select jsonb_agg(to_jsonb(l) order by l.id) from public.credit_ledger l where l.user_id = $1),
      'runs', (select jsonb_agg(to_jsonb(r) order by r.job_id) from longhaul.job_runs r join public.jobs j on j.id = r.job_id where j.user_id = $1),
      'deliveries', (select jsonb_agg(to_jsonb(d) order by d.job_id, d.attempt) from longhaul.job_deliveries d join public.jobs j on j.id = d.job_id where j.user_id = $1),
      'files', (select jsonb_agg(jsonb_build_object('job', f.job_id, 'name', f.name, 'data', md5(f.data)) order by f.job_id, f.name) from longhaul.job_files f join public.jobs j on j.id = f.job_id where j.user_id = $1),
      'documents', (select jsonb_agg(to_jsonb(d) order by d.document_id) from public.rag_documents d where d.user_id = $1),
      'chunks', (select jsonb_agg(to_jsonb(c) order by c.job_id, c.seq) from longhaul.rag_chunks c where c.user_id = $1),
      'pricing', (select jsonb_agg(to_jsonb(p) order by p.kind) from public.job_pricing p)
    )::text as state,
    (select balance from public.credit_accounts where user_id = $1) as victim_balance,
    (select balance from public.credit_accounts where user_id = $2) as own_balance`;

  function outcomeOf(rows: Record<string, unknown>[], rowCount: number | null): Outcome {
    return { ok: true, rows, rowCount: rowCount ?? rows.length, text: JSON.stringify(rows) };
  }
  function errorOutcome(err: unknown): Outcome {
    const e = err as DatabaseError;
    const fields = { code: e.code, message: e.message, detail: e.detail, hint: e.hint, where: e.where };
    return { ok: false, rows: [], rowCount: 0, ...fields, text: [e.message, e.detail, e.hint, e.where, e.schema, e.table, e.column, e.dataType, e.constraint, e.internalQuery].filter(Boolean).join(' | ') };
  }

  /**
   * One case on the fuzz backend in one transaction: the victim's state before, the statement as the actor, the
   * victim's state after (inside the same transaction, so even a change that is rolled back is seen).
   */
  async function run(c: Case, live: Omit<Live, 'balances'>, commit: boolean, rewrite?: (s: string) => string): Promise<{ outcome: Outcome; request: string; before: string; after: string | null; live: Live }> {
    await fuzz.query('begin');
    const snap = await fuzz.query<{ state: string; victim_balance: string; own_balance: string }>(SNAPSHOT, [live.victim.id, live.actor.id]);
    const full: Live = { ...live, balances: { victim: Number(snap.rows[0]!.victim_balance), own: Number(snap.rows[0]!.own_balance) } };
    const { sql, params: raw } = statement(c, full);
    const params = rewrite ? raw.map((p) => (typeof p === 'string' ? rewrite(p) : p)) : raw;
    const request = `${sql} ${params.map(String).join(' ')}`;
    await fuzz.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: live.actor.id, role: 'authenticated', aud: 'authenticated' })]);
    let outcome: Outcome;
    try {
      const res = await fuzz.query<Record<string, unknown>>(sql, params);
      outcome = outcomeOf(res.rows, res.rowCount);
    } catch (err) {
      outcome = errorOutcome(err);
      // A failed statement leaves nothing behind: the transaction can only roll back.
      await fuzz.query('rollback');
      return { outcome, request, before: snap.rows[0]!.state, after: null, live: full };
    }
    await fuzz.query('reset role');
    const after = (await fuzz.query<{ state: string }>(SNAPSHOT, [live.victim.id, live.actor.id])).rows[0]!.state;
    await fuzz.query(commit ? 'commit' : 'rollback');
    return { outcome, request, before: snap.rows[0]!.state, after, live: full };
  }

  const victimSecrets = (p: Party): string[] => [p.id, ...p.jobs, ...p.idempotencyKeys, p.marker, p.documentId, p.fileName, p.model];
  const balancePattern = (n: number): RegExp => new RegExp(`(?<![\\w.-])${n}(?![\\w.])`);

  it('runs the fuzz cases as both users (each user against the other)', async () => {
    assert.ok(insertColumns.some((c) => c.name === 'input'), 'authenticated may insert public.jobs (input)');
    const started = Date.now();
    const all = fc.sample(cases(), { seed: FUZZ_SEED, numRuns: CASES });
    // The first 15 findings of each property in full, then only how many more.
    const note = (list: string[], what: string): void => {
      if (list.length < 15) list.push(what);
      else list[15] = `… and ${Number(/\d+/.exec(list[15] ?? '')?.[0] ?? 0) + 1} more`;
    };
    let baseline = vmHwmKb(backendPid);
    let lastRequestBytes = 0;
    widestBody = 0;
    for (let i = 0; i < all.length; i++) {
      const c = all[i]!;
      const actor = parties[c.actor];
      const victim = parties[1 - c.actor]!;
      const describeCase = (request: string): string => `case #${i} as ${actor.name} (${c.op}): ${request.slice(0, 400)}`;
      try {
        // Probes that carry the victim's strings, price probes and wide inputs never commit: nothing of the victim's
        // may end up in the actor's own rows (it would then be legitimately the actor's to see).
        const first = await run(c, { actor, victim }, false);
        const secrets = victimSecrets(victim);
        const carries = secrets.some((s) => first.request.includes(s)) || first.request.length > 4096;
        const result = c.commit && !carries && first.outcome.ok ? await run(c, { actor, victim }, true) : first;
        const { outcome, request, live } = result;
        lastRequestBytes = request.length;
        widestBody = Math.max(widestBody, request.length);
        const key = `${c.op} ${c.op === 'rpc' ? functions[c.fn]!.name : c.op === 'insert' ? '' : relations[c.rel]!.name} ${outcome.ok ? 'ok' : outcome.code}`.replace(/\s+/g, ' ');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        ran++;

        // 1. Nothing of the victim's in what the actor sees, unless the actor sent it.
        const seen = secrets.filter((s) => outcome.text.includes(s) && !request.includes(s));
        if (balancePattern(live.balances.victim).test(outcome.text) && !balancePattern(live.balances.victim).test(request)) seen.push(`balance ${live.balances.victim}`);
        if (seen.length) note(leaks, `${describeCase(request)} → ${outcome.ok ? `rows ${outcome.text.slice(0, 300)}` : `${outcome.code} ${outcome.text.slice(0, 300)}`} [carries ${seen.join(', ')}]`);

        // 2. Nothing of the victim's changed.
        for (const r of result === first ? [first] : [first, result]) {
          if (r.after !== null && r.after !== r.before) note(changes, `${describeCase(r.request)} changed ${victim.name}'s rows`);
        }

        // 3. The victim's ids answer like ids nobody has.
        // (Order comparisons are left out: a random uuid sorts elsewhere than the victim's, so `>` rightly differs.)
        const named = [victim.id, ...victim.jobs].filter((id) => first.request.includes(id));
        const ordered = 'filter' in c && c.filter?.op === 'gt';
        if (named.length && !ordered) {
          // The stand-in keeps each character's class (digit or letter): as a JSON or number token a uuid's first
          // characters decide the parse error, and that must not tell the two apart.
          const stand = new Map(named.map((id) => [id, sameShapeUuid(id)]));
          const swap = (s: string): string => named.reduce((acc, id) => acc.split(id).join(stand.get(id)!), s);
          const twin = await run(c, { actor, victim }, false, swap);
          const norm = (o: Outcome): string => {
            // Postgres quotes one JSON token of a uuid in some messages ('Token "9ad4ed73" is invalid', 'but found
            // "-3866"'), and where a token ends depends on the characters ('7200916e-448c' reads as a number).
            const ids = [...stand].flat();
            const hide = (s: string | undefined): string | undefined =>
              s === undefined
                ? s
                : ids
                    .reduce((acc, token) => acc.split(token).join('<id>'), s)
                    .replace(/"([0-9a-f-]{1,36})"/gi, (quoted, token: string) => (ids.some((id) => id.includes(token)) ? '<id>' : quoted));
            const rows = c.op === 'select' || c.op === 'rpc' ? hide(JSON.stringify(o.rows)) : undefined;
            return JSON.stringify({ ok: o.ok, code: o.code, message: hide(o.message), detail: hide(o.detail), hint: hide(o.hint), rowCount: o.rowCount, rows });
          };
          if (norm(first.outcome) !== norm(twin.outcome)) note(oracles, `${describeCase(first.request)}: with ${victim.name}'s id ${norm(first.outcome).slice(0, 300)}; with an unknown uuid ${norm(twin.outcome).slice(0, 300)}`);
        }

        // 4. New jobs of the actor's become its own secrets (the other user must not see them either).
        if (result !== first && c.op === 'insert') {
          actor.jobs = (await admin.query<{ id: string }>('select id from public.jobs where user_id = $1 order by created_at, id', [actor.id])).rows.map((r) => r.id);
        }
      } catch (err) {
        // The fuzz connection itself failed (the backend died or the protocol broke): that is a finding of its own.
        note(crashes, `${describeCase(JSON.stringify(c).slice(0, 300))}: ${(err as Error).message}`);
        await fuzz.end().catch(() => undefined);
        await connect();
        baseline = vmHwmKb(backendPid);
      }
      const kb = vmHwmKb(backendPid);
      if (kb !== null && (peak === null || kb > peak.kb)) {
        peak = { kb, at: `case #${i} (${c.op}${c.op === 'rpc' ? ` ${functions[c.fn]!.name}` : ''}, ${lastRequestBytes} bytes sent)` };
      }
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `data API fuzz seed ${FUZZ_SEED}: ${ran} cases in ${seconds.toFixed(1)} s over ${insertColumns.length} insertable columns of public.jobs (${insertColumns.map((c) => c.name).join(', ')}), ` +
        `${relations.length} relations (${relations.map((r) => `${r.schema}.${r.name}`).join(', ')}), ${functions.length} functions (${functions.map((f) => `${f.schema}.${f.name}`).join(', ')}); ` +
        `backend VmHWM ${baseline === null ? '?' : Math.round(baseline / 1024)} MB at start, peak ${peak ? `${Math.round(peak.kb / 1024)} MB at ${peak.at}` : 'unreadable'}; outcomes: ${[...counts].sort().map(([k, n]) => `${k}×${n}`).join(', ')}`,
    );
    assert.deepEqual(crashes, [], `the fuzz connection failed; replay with FUZZ_SEED=${FUZZ_SEED}`);
    assert.ok([...counts.keys()].some((k) => k.startsWith('insert ok')) && [...counts.keys()].some((k) => k.startsWith('rpc ') && k.endsWith(' ok')), 'the fuzz reached accepted inserts and successful calls');
  });

  it('no error, detail, hint or row one user sees carries the other user\'s data', () => {
    assert.ok(ran > 0);
    assert.deepEqual(leaks, [], `replay with FUZZ_SEED=${FUZZ_SEED}`);
  });

  it('naming the other user\'s id or job id answers exactly like naming a uuid nobody has', () => {
    assert.ok(ran > 0);
    assert.deepEqual(oracles, [], `replay with FUZZ_SEED=${FUZZ_SEED}`);
  });

  it('nothing one user does changes the other user\'s rows, balance, files, documents or the prices', () => {
    assert.ok(ran > 0);
    assert.deepEqual(changes, [], `replay with FUZZ_SEED=${FUZZ_SEED}`);
  });

  it(`the Postgres backend's peak RSS (VmHWM) stays under ${BACKEND_BASE_MB} MB + ${BACKEND_BYTES_PER_BODY_BYTE} bytes per byte of the widest body`, (t) => {
    if (memoryUnreadable !== null || peak === null) {
      t.skip(`backend memory not readable (${memoryUnreadable ?? 'no reading'}): Postgres runs elsewhere or as another user`);
      return;
    }
    assert.ok(peak.kb / 1024 < backendPeakLimitMb(widestBody), `backend ${backendPid} peaked at ${Math.round(peak.kb / 1024)} MB at ${peak.at} (limit ${Math.round(backendPeakLimitMb(widestBody))} MB for ${widestBody} bytes); replay with FUZZ_SEED=${FUZZ_SEED}`);
  });
});
