/**
 * Job operations of the HTTP API. A user's requests run as that user (role authenticated + claims), so RLS decides
 * what they see — another user's job is simply not there (404). Admin requests use the service connection.
 * Transitions are the migrations' SQL functions; nothing here writes a status column.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'pg';
import { userGoneError } from '../api/auth';
import { asUser, inTransaction, query } from '../db';
import { ConflictError, NotFoundError, ValidationError, isIdempotencyConflict } from '../errors';
import { parseInput } from '../engine/activities';
import { findKind, kindNames } from '../kinds';
import { jsonbProblem } from '../pgText';
import { JOB_COLUMNS, toJob, type Job, type JobRow, type JobStatus } from './job';
import type { PoolClient } from 'pg';

/** Who is calling: a signed-in user (claims from their verified JWT) or an operator with the admin key. */
export type Actor = { type: 'user'; userId: string; claims: { sub: string } & Record<string, unknown> } | { type: 'admin' };

export interface SubmitRequest {
  kind: string;
  input: unknown;
  idempotencyKey?: string;
  priority?: number;
  /** Admin only: the user who owns (and pays for) the job. */
  userId?: string;
}

// created_at::text as this API writes it into cursors (ISO DateStyle): 2026-12-02 14:56:54.723456+00
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Node outputs in one results page: 1,000 items of up to 1 MiB each would be a gigabyte answer.
export const RESULTS_PAGE_BYTES = 8 * 1024 * 1024;
const WITH_POSITION = `${JOB_COLUMNS}, public.job_queue_position(j.id) as queue_position, public.job_eta_seconds(j.id) as eta_seconds`;

function run<T>(db: Pool, actor: Actor, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return actor.type === 'user' ? asUser(db, actor.claims, fn) : inTransaction(db, fn);
}

function actorName(actor: Actor): string {
  return actor.type === 'user' ? actor.userId : 'admin';
}

/**
 * Validates kind and input with the kind's own schema before anything is written or charged, and returns the input
 * to store: the schema's output (unknown keys stripped, defaults filled in), so what was sent beyond the schema never
 * reaches Postgres.
 */
export function validateSubmission(req: SubmitRequest): unknown {
  const kind = findKind(req.kind);
  if (!kind) throw new ValidationError(`kind: unknown job kind "${req.kind}"`, [{ path: 'kind', message: `unknown job kind; known kinds: ${kindNames().join(', ')}` }]);
  const parsed = parseInput(kind, req.input);
  // Strings inside the parsed input must still fit in jsonb.
  const problem = jsonbProblem(parsed, 'input');
  if (problem) throw new ValidationError(`${problem.path}: ${problem.message}`, [problem]);
  return parsed;
}

/** Whether a stored job is what this submission asks for (same kind, same input once parsed). */
function sameSubmission(existing: { kind: string; input: unknown }, kindName: string, input: unknown): boolean {
  if (existing.kind !== kindName) return false;
  const kind = findKind(kindName)!;
  let stored = existing.input;
  try {
    // A job inserted through the Data API keeps its input as sent: compare what the engine will run.
    stored = parseInput(kind, existing.input);
  } catch {
    return false;
  }
  return isDeepStrictEqual(JSON.parse(JSON.stringify(stored)), JSON.parse(JSON.stringify(input)));
}

/** The kind's checks that need the owner (a storage:// file in the owner's folder): a 400 before anything is charged. */
function checkOwner(req: SubmitRequest, owner: string): void {
  const kind = findKind(req.kind)!;
  if (kind.checkOwner) kind.checkOwner(parseInput(kind, req.input), owner);
}

export async function submitJob(db: Pool, actor: Actor, req: SubmitRequest): Promise<{ job: Job; created: boolean }> {
  const input = validateSubmission(req);
  if (actor.type === 'admin' && !req.userId) throw new ValidationError('userId: an admin submission must name the user who owns the job', [{ path: 'userId', message: 'required with the admin key' }]);
  const owner = actor.type === 'user' ? actor.userId : req.userId!;
  checkOwner(req, owner);
  try {
    const row = await run(db, actor, async (client) => {
      const inserted = await client.query<{ id: string }>(
        'insert into public.jobs (kind, input, idempotency_key, priority, user_id) values ($1, $2::jsonb, $3, $4, $5) returning id',
        [req.kind, JSON.stringify(input), req.idempotencyKey ?? null, req.priority ?? 0, owner],
      );
      // A second statement: the queue position counts rows the insert's own snapshot cannot see yet.
      const { rows } = await client.query<JobRow>(`select ${WITH_POSITION} from public.jobs j where j.id = $1`, [inserted.rows[0]!.id]);
      return rows[0]!;
    });
    return { job: toJob(row), created: true };
  } catch (err) {
    // A verified token whose user was deleted since: the foreign keys to auth.users (jobs, credit_accounts) refuse.
    if (actor.type === 'user' && (err as { code?: string }).code === '23503' && /user_id_fkey$/.test((err as { constraint?: string }).constraint ?? '')) throw userGoneError();
    if ((err as { code?: string; constraint?: string }).code === '23503' && actor.type === 'admin') {
      throw new ValidationError(`userId: no user ${owner}`, [{ path: 'userId', message: 'no such user' }]);
    }
    if (!isIdempotencyConflict(err)) throw err;
    const rows = await run(db, actor, async (client) =>
      (await client.query<JobRow & { stored_input: unknown }>(`select ${WITH_POSITION}, j.input as stored_input from public.jobs j where j.user_id = $1 and j.idempotency_key = $2`, [owner, req.idempotencyKey])).rows,
    );
    if (!rows[0]) throw err;
    // A key names one submission: the same kind and input again is that job; anything else under it is a mistake.
    if (!sameSubmission({ kind: rows[0].kind, input: rows[0].stored_input }, req.kind, input)) {
      throw new ConflictError(`idempotencyKey: "${req.idempotencyKey}" was already used for job ${rows[0].id} with a different kind or input`, [
        { path: 'idempotencyKey', message: `already used for job ${rows[0].id} with a different kind or input` },
      ]);
    }
    return { job: toJob(rows[0]), created: false };
  }
}

export async function getJob(db: Pool, actor: Actor, id: string): Promise<Job> {
  if (!UUID.test(id)) throw new NotFoundError(`job ${id} not found`);
  const rows = await run(db, actor, async (client) => (await client.query<JobRow>(`select ${WITH_POSITION} from public.jobs j where j.id = $1`, [id])).rows);
  if (!rows[0]) throw new NotFoundError(`job ${id} not found`);
  return toJob(rows[0]);
}

export interface ListRequest {
  status?: JobStatus;
  kind?: string;
  limit: number;
  cursor?: string;
  userId?: string;
}

/** Newest first, keyset-paged on (created_at, id); the cursor keeps created_at's microseconds (a JS Date would not). */
export async function listJobs(db: Pool, actor: Actor, req: ListRequest): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  let after: [string, string] | undefined;
  if (req.cursor) {
    try {
      const decoded = JSON.parse(Buffer.from(req.cursor, 'base64url').toString('utf8')) as unknown;
      if (!Array.isArray(decoded) || decoded.length !== 2 || !PG_TIMESTAMPTZ.test(String(decoded[0])) || !UUID.test(String(decoded[1]))) throw new Error('shape');
      after = decoded as [string, string];
    } catch {
      throw new ValidationError('cursor: not a cursor returned by this API', [{ path: 'cursor', message: 'invalid' }]);
    }
  }
  const rows = await run(db, actor, async (client) =>
    (
      await client.query<JobRow & { created_text: string }>(
        `select ${WITH_POSITION}, j.created_at::text as created_text from public.jobs j
         where ($1::text is null or j.status = $1) and ($2::text is null or j.kind = $2) and ($3::uuid is null or j.user_id = $3)
           and ($4::timestamptz is null or (j.created_at, j.id) < ($4::timestamptz, $5::uuid))
         order by j.created_at desc, j.id desc limit $6`,
        [req.status ?? null, req.kind ?? null, req.userId ?? null, after?.[0] ?? null, after?.[1] ?? null, req.limit + 1],
      )
    ).rows,
  ).catch((err: unknown) => {
    // A cursor shaped like a timestamp that is not one (month 13): Postgres' datetime errors (22007, 22008).
    if (after && /^2200[78]$/.test((err as { code?: string }).code ?? '')) throw new ValidationError('cursor: not a cursor returned by this API', [{ path: 'cursor', message: 'invalid' }]);
    throw err;
  });
  const page = rows.slice(0, req.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > req.limit && last ? Buffer.from(JSON.stringify([last.created_text, last.id])).toString('base64url') : null;
  return { jobs: page.map(toJob), nextCursor };
}

export async function jobResults(db: Pool, actor: Actor, id: string, cursor: string | undefined, limit: number): Promise<{ items: unknown[]; nextCursor: string | null }> {
  const job = await getJob(db, actor, id);
  const after = cursor === undefined ? -1 : Number(cursor);
  if (!Number.isSafeInteger(after) || after < -1) throw new ValidationError('cursor: not a cursor returned by this API', [{ path: 'cursor', message: 'invalid' }]);
  const kind = findKind(job.kind);
  if (kind?.results) {
    const own = await kind.results(db, { id: job.id, userId: job.userId, kind: job.kind, attempt: job.attempt, input: undefined }, after, limit + 1);
    const page = own.slice(0, limit);
    return { items: page.map((r) => r.item), nextCursor: own.length > limit ? String(page[page.length - 1]!.seq) : null };
  }
  // A page ends at `limit` items or RESULTS_PAGE_BYTES of outputs, whichever comes first (always one item at least).
  // The first item past either bound comes back without its output, only to say that there is more.
  const rows = await query<{ key: string; seq: string; status: string; output: unknown; error: unknown; kept: boolean }>(
    db,
    `select key, seq, status, case when kept then output end as output, error, kept from (
       select key, seq, status, output, error, n, n <= $3 and (n = 1 or upto <= $4) as kept, upto - own as before
       from (select key, seq, status, output, error, row_number() over w as n, coalesce(octet_length(output::text), 0) as own,
                    sum(coalesce(octet_length(output::text), 0)) over w as upto
             from longhaul.job_items where job_id = $1 and seq > $2 window w as (order by seq) order by seq limit $3 + 1) sized
     ) p where kept or before <= $4 or n > $3
     order by seq`,
    [job.id, after, limit, RESULTS_PAGE_BYTES],
  );
  const page = rows.filter((r) => r.kept).slice(0, limit);
  const format = kind?.formatItem ?? ((item: { key: string; status: string; output: unknown; error: unknown }) => item);
  return {
    items: page.map((r) => format({ key: r.key, status: r.status, output: r.output, error: r.error })),
    nextCursor: rows.length > page.length ? String(page[page.length - 1]!.seq) : null,
  };
}

export async function cancelJob(db: Pool, actor: Actor, id: string): Promise<Job> {
  if (!UUID.test(id)) throw new NotFoundError(`job ${id} not found`);
  const sql = actor.type === 'user' ? 'public.cancel_job($1)' : `longhaul.request_cancel($1, '${actorName(actor)}')`;
  const rows = await run(db, actor, async (client) => (await client.query<JobRow>(`select ${WITH_POSITION} from ${sql} j`, [id])).rows);
  return toJob(rows[0]!);
}

export async function retryJob(db: Pool, actor: Actor, id: string): Promise<Job> {
  if (!UUID.test(id)) throw new NotFoundError(`job ${id} not found`);
  const sql = actor.type === 'user' ? 'public.retry_job($1)' : `longhaul.retry_job($1, '${actorName(actor)}')`;
  const rows = await run(db, actor, async (client) => (await client.query<JobRow>(`select ${WITH_POSITION} from ${sql} j`, [id])).rows);
  return toJob(rows[0]!);
}

export async function credits(db: Pool, actor: Extract<Actor, { type: 'user' }>, limit = 50): Promise<{ balance: number; ledger: unknown[] }> {
  const answer = await asUser(db, actor.claims, async (client) => {
    const balance = await client.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [actor.userId]);
    const ledger = await client.query<{ id: string; entry: string; amount: string; balance_after: string; job_id: string | null; attempt: number | null; reason: string; created_at: Date }>(
      'select id, entry, amount, balance_after, job_id, attempt, reason, created_at from public.credit_ledger where user_id = $1 order by id desc limit $2',
      [actor.userId, limit],
    );
    return {
      balance: Number(balance.rows[0]?.balance ?? 0),
      ledger: ledger.rows.map((r) => ({ id: Number(r.id), entry: r.entry, amount: Number(r.amount), balanceAfter: Number(r.balance_after), jobId: r.job_id, attempt: r.attempt, reason: r.reason, createdAt: r.created_at.toISOString() })),
    };
  });
  // Nothing at all: a user who never had credits, or one deleted since the token was issued (their rows cascade away).
  if (answer.ledger.length === 0 && (await query(db, 'select 1 from auth.users where id = $1', [actor.userId])).length === 0) throw userGoneError();
  return answer;
}

/** Records that a delivery of the attempt is being enqueued (pending -> queued); returns false when it is not needed. */
export async function markQueued(db: Pool, jobId: string, attempt: number, actor: string): Promise<boolean> {
  const rows = await query<{ status: string }>(db, 'select longhaul.mark_queued($1, $2, $3) as status', [jobId, attempt, actor]);
  return rows[0]?.status === 'queued';
}
