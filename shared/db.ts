/** The app's Postgres pool, created lazily from configuration and shared by every function in the process. */
import { Pool } from 'pg';

let pool: Pool | undefined;

export function getPool(databaseUrl: string): Pool {
  // Serverless instances are many and small: few connections each, released quickly.
  pool ??= new Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: 30_000, application_name: 'longhaul' });
  return pool;
}
