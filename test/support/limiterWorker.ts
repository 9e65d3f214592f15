/**
 * A process that draws from a shared rate limit as fast as it can for a while and prints when each call was allowed:
 *   node limiterWorker.js <databaseUrl> <key> <rpm> <durationMs>
 * Several run at once in the limiter test and benchmark, as several Function App instances would.
 */
import { Pool } from 'pg';
import { createPgLimiter } from '../../shared/ai/rateLimiter';

async function main(): Promise<void> {
  const [databaseUrl, key, rpm, duration] = process.argv.slice(2);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const limiter = createPgLimiter(pool);
  const until = Date.now() + Number(duration);
  const grants: number[] = [];
  while (Date.now() < until) {
    await limiter.acquire(key!, { rpm: Number(rpm) }, 10, 60_000);
    grants.push(Date.now());
  }
  await pool.end();
  process.stdout.write(`${JSON.stringify(grants)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(String(err));
  process.exit(1);
});
