/** The app's Postgres pool (created lazily from configuration) and the two ways the app talks to the database. */
import { Pool, type PoolClient } from 'pg';
import { fromDatabaseError } from './errors';

let pool: Pool | undefined;

export function getPool(databaseUrl: string): Pool {
  if (!pool) {
    // Serverless instances are many and small: few connections each, released quickly.
    pool = new Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: 30_000, application_name: 'longhaul' });
    // An idle connection dropped by the server (restart, failover, pooler recycle) must not crash the worker:
    // the pool discards it and the next query opens a new one.
    pool.on('error', () => undefined);
    // The same while a client is checked out (the pool only listens on idle ones): the next query on it fails, and
    // the pool discards it on release.
    pool.on('connect', (client) => client.on('error', () => undefined));
  }
  return pool;
}

/** Anything that runs queries: the pool, or a client inside a transaction. */
export interface Queryable {
  query: Pool['query'];
}

/** Runs `fn` in a transaction; SQL function errors come back as AppErrors (shared/errors.ts). */
export async function inTransaction<T>(db: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw fromDatabaseError(err);
  } finally {
    client.release();
  }
}

/**
 * Runs `fn` as a signed-in Supabase user: role `authenticated` with the request's claims, exactly as PostgREST does,
 * so RLS policies and auth.uid() decide what the user may see and do — the API never re-implements them.
 */
export function asUser<T>(db: Pool, claims: { sub: string; role?: string } & Record<string, unknown>, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(db, async (client) => {
    await client.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", [JSON.stringify({ ...claims, role: 'authenticated' })]);
    return fn(client);
  });
}

/** Runs one statement with AppError mapping (service role: the connection's own rights). */
export async function query<R extends Record<string, unknown>>(db: Queryable, text: string, values: unknown[] = []): Promise<R[]> {
  try {
    const result = await db.query<R>(text, values);
    return result.rows;
  } catch (err) {
    throw fromDatabaseError(err);
  }
}
