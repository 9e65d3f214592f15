/** The app's Postgres pool, created lazily from configuration and shared by every function in the process. */
import { Pool } from 'pg';

let pool: Pool | undefined;

export function getPool(databaseUrl: string): Pool {
  if (!pool) {
    // Serverless instances are many and small: few connections each, released quickly.
    pool = new Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: 30_000, application_name: 'longhaul' });
    // An idle connection dropped by the server (restart, failover, pooler recycle) must not crash the worker:
    // the pool discards it and the next query opens a new one.
    pool.on('error', () => undefined);
  }
  return pool;
}
