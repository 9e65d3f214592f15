/**
 * Chaos-test tools: a logged, replayable random seed; a mixed workload of every kind that runs offline or on the wire
 * fakes; the ledger invariants every chaos case ends with; and the protections a test may break on purpose
 * (CHAOS_BREAK) to prove it can fail.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Pool } from 'pg';
import type { JobsApp, TestUser } from './jobsApp';

/** The run's seed: CHAOS_SEED when set (to replay a failure), otherwise a fresh one. Always printed. */
export function chaosSeed(test: string): number {
  const fromEnv = process.env.CHAOS_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : randomInt(1, 2 ** 31 - 1);
  if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${fromEnv}`);
  console.log(`[chaos] ${test}: seed ${seed} (replay with CHAOS_SEED=${seed})`);
  return seed;
}

/** mulberry32: a small deterministic PRNG, so one seed replays the same kill points and workload. */
export function prng(seed: number): { next(): number; int(min: number, max: number): number; pick<T>(items: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

export type ChaosKind = 'workflow' | 'rag_ingestion' | 'image_generation' | 'brief_pipeline';
export const CHAOS_KINDS: readonly ChaosKind[] = ['workflow', 'rag_ingestion', 'image_generation', 'brief_pipeline'];

export interface ChaosInputOptions {
  /**
   * Workflow: this many text nodes after each llm node. A workflow chunk holds up to 40 llm nodes and stores its
   * finished nodes 50 at a time (`runNodes`), so without fillers a chunk of llm nodes writes all its items at its end;
   * with 5 fillers per llm node it writes them in ~5 batches while it runs, and a kill can land in a partly done chunk.
   */
  textPerLlm?: number;
}

/** A job input of the given kind, sized by `size` (llm nodes, segments, images), distinct per `tag`. */
export function chaosInput(kind: ChaosKind, tag: string, size: number, opts: ChaosInputOptions = {}): unknown {
  switch (kind) {
    case 'workflow':
      return {
        nodes: [
          ...Array.from({ length: size }, (_, i) => [
            { id: `n${i}`, type: 'llm', prompt: `${tag} node ${i}: say something` },
            ...Array.from({ length: opts.textPerLlm ?? 0 }, (_, j) => ({ id: `n${i}t${j}`, type: 'text', text: `${tag} filler ${i}.${j}` })),
          ]).flat(),
          { id: 'sum', type: 'template', template: `${tag} {{n0}}`, inputs: ['n0'] },
        ],
      };
    case 'rag_ingestion':
      return {
        documentId: tag,
        segments: Array.from({ length: size }, (_, i) => ({ seq: i, text: `${tag} segment ${i} talks about tides. It has a second sentence.`, startMs: i * 1000, endMs: i * 1000 + 900 })),
      };
    case 'image_generation':
      return { prompts: Array.from({ length: size }, (_, i) => `${tag} picture ${i}`) };
    case 'brief_pipeline':
      return { title: `${tag} launch`, description: 'A reusable bottle made of kelp', query: `Make a piece for ${tag}`, mediaType: (['video', 'image', 'audio', 'text'] as const)[size % 4] };
  }
}

export interface Submitted {
  id: string;
  kind: ChaosKind;
  user: TestUser;
}

/** Submits through the API, as users do; asserts 202. */
export async function submit(app: JobsApp, user: TestUser, kind: ChaosKind, input: unknown): Promise<Submitted> {
  const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind, input });
  assert.equal(res.status, 202, `submit ${kind}: ${JSON.stringify(res.body)}`);
  return { id: res.body.id, kind, user };
}

/** Waits until none of the jobs is pending, queued or running; returns status counts. */
export async function waitAllFinished(pool: Pool, ids: string[], timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ status: string; n: number }>('select status, count(*)::int as n from public.jobs where id = any($1::uuid[]) group by 1', [ids]).catch(() => ({ rows: [] }));
    const counts = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    const open = (counts.pending ?? 0) + (counts.queued ?? 0) + (counts.running ?? 0);
    if (rows.length > 0 && open === 0) return counts;
    if (Date.now() > deadline) throw new Error(`jobs still open after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface PartlyDoneChunk {
  jobId: string;
  idx: number;
  done: number;
  /** Of `done`, the nodes stored at or after `since` (by the run in progress rather than an earlier one). */
  doneSince: number;
  total: number;
}

/**
 * Workflow chunks of the given jobs that are `running` with some but not all of their nodes (items) done, claimed at
 * or after `since` (the database's clock). While a host runs, these are chunks in the middle of their work; right
 * after a kill -9 (nothing writes any more) they are exactly the chunks the kill interrupted midway, which a new host
 * must finish without counting the done nodes again.
 */
export async function partlyDoneChunks(pool: Pool, ids: string[], since: Date): Promise<PartlyDoneChunk[]> {
  const { rows } = await pool.query<{ job_id: string; idx: number; done: number; done_since: number; total: number }>(
    `select c.job_id, c.idx, count(*) filter (where i.status = 'done')::int as done,
            count(*) filter (where i.status = 'done' and i.updated_at >= $2)::int as done_since, count(*)::int as total
     from longhaul.job_chunks c
     join public.jobs j on j.id = c.job_id and j.kind = 'workflow'
     join longhaul.job_items i on i.job_id = c.job_id and i.seq between (c.input ->> 'from')::bigint and (c.input ->> 'to')::bigint
     where c.job_id = any($1::uuid[]) and c.status = 'running' and c.updated_at >= $2
     group by 1, 2
     having count(*) filter (where i.status = 'done') between 1 and count(*) - 1`,
    [ids, since],
  );
  return rows.map((r) => ({ jobId: r.job_id, idx: r.idx, done: r.done, doneSince: r.done_since, total: r.total }));
}

/** The database's clock (chunk timestamps are compared with it, not with this process's). */
export async function dbNow(pool: Pool): Promise<Date> {
  return (await pool.query<{ t: Date }>('select clock_timestamp() as t')).rows[0]!.t;
}

/**
 * The money and work invariants after chaos, for the given jobs and their users:
 * - at most one charge and one refund per job attempt (the ledger has no duplicate movement);
 * - every job's work counted once: units and items done never exceed their totals, a completed job produced all;
 * - per job, charges − refunds = the credits for what was produced (the full price when all units were produced,
 *   units done × unit price otherwise, nothing when nothing was produced), and equals the job row's charged − refunded;
 * - per user, the balance is the sum of the ledger and the last ledger row's balance_after.
 */
export async function assertLedgerConsistent(pool: Pool, ids: string[]): Promise<void> {
  const dup = await pool.query<{ job_id: string; attempt: number; entry: string; n: number }>(
    `select job_id, attempt, entry, count(*)::int as n from public.credit_ledger
     where job_id = any($1::uuid[]) and entry in ('charge', 'refund') group by 1, 2, 3 having count(*) > 1`,
    [ids],
  );
  assert.deepEqual(dup.rows, [], 'a charge or refund was applied twice to one job attempt');

  const jobs = await pool.query<{ id: string; status: string; attempt: number; charged: string; refunded: string; net: string; units_total: string; units_done: string; items_total: string; items_done: string; cpu: number; min_credits: number }>(
    `select j.id, j.status, j.attempt, j.credits_charged as charged, j.credits_refunded as refunded,
            coalesce((select -sum(l.amount) from public.credit_ledger l where l.job_id = j.id), 0) as net,
            r.units_total, r.units_done, r.items_total, r.items_done, r.credits_per_unit as cpu, r.min_credits
     from public.jobs j join longhaul.job_runs r on r.job_id = j.id where j.id = any($1::uuid[])`,
    [ids],
  );
  assert.equal(jobs.rowCount, ids.length, 'every job exists');
  const wrong: string[] = [];
  for (const j of jobs.rows) {
    const [unitsTotal, unitsDone, itemsTotal, itemsDone, net] = [j.units_total, j.units_done, j.items_total, j.items_done, j.net].map(Number) as [number, number, number, number, number];
    const fullPrice = Math.max(j.min_credits, unitsTotal * j.cpu);
    const produced = unitsDone === 0 ? 0 : Math.max(0, fullPrice - Math.max(unitsTotal - unitsDone, 0) * j.cpu);
    const problems = [
      unitsDone > unitsTotal && `units done ${unitsDone} > total ${unitsTotal}`,
      itemsDone > itemsTotal && `items done ${itemsDone} > total ${itemsTotal}`,
      j.status === 'completed' && unitsDone !== unitsTotal && `completed with ${unitsDone}/${unitsTotal} units`,
      j.status === 'completed' && itemsDone !== itemsTotal && `completed with ${itemsDone}/${itemsTotal} items`,
      net !== produced && `charges − refunds = ${net}, credits for what was produced = ${produced}`,
      net !== Number(j.charged) - Number(j.refunded) && `ledger net ${net} ≠ job row ${j.charged} − ${j.refunded}`,
    ].filter(Boolean);
    if (problems.length) wrong.push(`${j.id} (${j.status}, attempt ${j.attempt}): ${problems.join('; ')}`);
  }
  assert.deepEqual(wrong, [], 'per-job ledger and work counters');

  const users = await pool.query<{ user_id: string; balance: string; sum: string; last: string }>(
    `select a.user_id, a.balance,
            (select sum(l.amount) from public.credit_ledger l where l.user_id = a.user_id) as sum,
            (select l.balance_after from public.credit_ledger l where l.user_id = a.user_id order by l.id desc limit 1) as last
     from public.credit_accounts a where a.user_id in (select user_id from public.jobs where id = any($1::uuid[]))`,
    [ids],
  );
  const off = users.rows.filter((u) => u.balance !== u.sum || u.balance !== u.last).map((u) => `${u.user_id}: balance ${u.balance}, ledger sum ${u.sum}, last balance_after ${u.last}`);
  assert.deepEqual(off, [], 'user balances match the ledger');
}

/**
 * CHAOS_BREAK=<name>: SQL that removes one protection from a chaos test's own database, to watch the test fail
 * (docs/RELIABILITY.md lists what each break made fail). Never set in CI.
 */
export function chaosBreak(): string | undefined {
  const name = process.env.CHAOS_BREAK;
  if (!name) return undefined;
  const sql = BREAKS[name];
  if (!sql) throw new Error(`CHAOS_BREAK must be one of ${Object.keys(BREAKS).join(', ')}`);
  console.log(`[chaos] CHAOS_BREAK=${name}: this run removes a protection on purpose and should fail`);
  return sql;
}

const BREAKS: Record<string, string> = {
  // Both layers of charge/refund-once: the ledger's unique index (with apply_credit's on-conflict) and fail_job's
  // "already ended" guard.
  'ledger-once': `
    drop index public.credit_ledger_once_per_attempt;
    create or replace function longhaul.apply_credit(p_user uuid, p_job uuid, p_attempt integer, p_entry text, p_amount bigint, p_reason text)
    returns boolean language plpgsql set search_path = '' as $$
    declare v_balance bigint;
    begin
      if p_amount = 0 then return false; end if;
      insert into public.credit_accounts (user_id) values (p_user) on conflict (user_id) do nothing;
      select balance into v_balance from public.credit_accounts where user_id = p_user for update;
      insert into public.credit_ledger (user_id, job_id, attempt, entry, amount, balance_after, reason)
      values (p_user, p_job, p_attempt, p_entry, p_amount, v_balance + p_amount, p_reason);
      update public.credit_accounts set balance = v_balance + p_amount, updated_at = now() where user_id = p_user;
      return true;
    end $$;
    create or replace function longhaul.refund_due(p_job public.jobs) returns bigint language sql stable set search_path = '' as $$
      select case when r.units_done = 0 then coalesce(-c.amount, 0)
        else least(coalesce(-c.amount, 0), greatest(r.units_total - r.units_done, 0) * r.credits_per_unit) end
      from longhaul.job_runs r
      left join lateral (select amount from public.credit_ledger c where c.job_id = p_job.id and c.attempt = p_job.attempt and c.entry = 'charge' limit 1) c on true
      where r.job_id = p_job.id $$;
    create or replace function longhaul.fail_job(p_job uuid, p_attempt integer, p_error jsonb, p_actor text)
    returns public.jobs language plpgsql set search_path = '' as $$
    declare v_job public.jobs := longhaul.get_job(p_job); v_from text := v_job.status; v_refund bigint;
    begin
      if v_job.attempt <> p_attempt then return v_job; end if;
      update public.jobs set status = 'failed', error = p_error, finished_at = now(), cancel_requested_at = null, updated_at = now()
      where id = p_job returning * into v_job;
      v_refund := longhaul.refund(v_job, 'job failed: unprocessed work refunded');
      select * into v_job from public.jobs where id = p_job;
      return v_job;
    end $$;`,
  // Counting a chunk's items and units once: complete_items and complete_chunk count rows that were already done.
  'chunk-idempotency': `
    create or replace function longhaul.complete_items(p_job uuid, p_items jsonb, p_stage text default null)
    returns integer language plpgsql set search_path = '' as $$
    declare v_changed integer; v_units bigint;
    begin
      with incoming as (select * from jsonb_to_recordset(p_items) as x(key text, status text, output jsonb, error jsonb, usage jsonb)),
      changed as (
        update longhaul.job_items i set status = incoming.status, output = incoming.output, error = incoming.error, usage = incoming.usage, updated_at = now()
        from incoming where i.job_id = p_job and i.key = incoming.key returning i.status, i.units)
      select count(*) filter (where status = 'done'), coalesce(sum(units) filter (where status = 'done'), 0) into v_changed, v_units from changed;
      if v_changed > 0 then
        update longhaul.job_runs set items_done = items_done + v_changed, units_done = units_done + v_units where job_id = p_job;
        perform longhaul.write_progress(p_job, p_stage, null, false);
      end if;
      return v_changed;
    end $$;
    create or replace function longhaul.complete_chunk(p_job uuid, p_stage integer, p_idx integer, p_output jsonb, p_items bigint, p_units bigint, p_stage_name text default null)
    returns boolean language plpgsql set search_path = '' as $$
    begin
      update longhaul.job_chunks c set status = 'done', output = p_output, cursor = null, error = null,
        done_attempt = (select attempt from public.jobs where id = p_job), updated_at = now()
      where job_id = p_job and stage = p_stage and idx = p_idx;
      if p_items > 0 or p_units > 0 then
        update longhaul.job_runs set items_done = items_done + p_items, units_done = units_done + p_units where job_id = p_job;
      end if;
      perform longhaul.write_progress(p_job, p_stage_name, null, false);
      return true;
    end $$;`,
  // The sweeper's redelivery: no attempt is ever due again.
  sweeper: `
    create or replace function longhaul.redeliveries(p_older_than interval, p_limit integer)
    returns table (job_id uuid, attempt integer) language sql set search_path = '' as $$
      select null::uuid, null::integer where false $$;`,
};
