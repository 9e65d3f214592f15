/** The shared rate limiter across processes, on real Postgres: three processes sharing one limit never exceed it. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { createPgLimiter } from '../../shared/ai/rateLimiter';
import { RetryAfterError } from '../../shared/errors';
import { applyMigrations } from '../../local/supabase/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';

const run = promisify(execFile);

/** The most grants inside any window of `windowMs`. */
function busiestWindow(grants: number[], windowMs: number): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('shared rate limiter', () => {
  let db: TestDatabase;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase('limiter');
    await applyMigrations(db.url);
    pool = new Pool({ connectionString: db.url, max: 3 });
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('three processes sharing 600 requests/minute stay within the GCRA bound (10 per second, +1 at the window edge) and together use the limit', async () => {
    const worker = join(__dirname, '..', 'support', 'limiterWorker.js');
    const outputs = await Promise.all([0, 1, 2].map(() => run(process.execPath, [worker, db.url, 'test:shared#k', '600', '4000'])));
    const perProcess = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    const all = perProcess.flat();
    assert.ok(perProcess.every((g) => g.length > 5), `every process got slots: ${perProcess.map((g) => g.length).join(', ')}`);
    // Slots are 100 ms apart: any 1 s window holds at most 1000/100 + 1; any 2 s window at most 21. The times are when
    // each process woke up, so on a loaded machine one late wake-up can land next to the following slot: allow one.
    assert.ok(busiestWindow(all, 1000) <= 12, `busiest second held ${busiestWindow(all, 1000)} calls`);
    assert.ok(busiestWindow(all, 2000) <= 22, `busiest two seconds held ${busiestWindow(all, 2000)} calls`);
    // Over the span the processes ran together the limit allows span/100 ms + 1 calls; they should use nearly all.
    const span = Math.max(...all) - Math.min(...all);
    // (+30 ms: timers wake a few milliseconds early or late, so observed times jitter around the reserved slots.)
    assert.ok(all.length <= (span + 30) / 100 + 1, `${all.length} calls in ${span} ms`);
    assert.ok(all.length >= 0.9 * (span / 100), `${all.length} calls in ${span} ms use the limit`);
  });

  it('refuses to reserve a slot further away than the caller will wait, and a pause stops everyone', async () => {
    const limiter = createPgLimiter(pool);
    const limit = { rpm: 6 }; // one call every 10 s
    await limiter.acquire('test:slow#k', limit, 1, 1000);
    await assert.rejects(limiter.acquire('test:slow#k', limit, 1, 1000), (err: unknown) => err instanceof RetryAfterError && err.retryAfterMs > 8000 && err.retryAfterMs <= 10_000);
    await limiter.pause('test:paused#k', Date.now() + 30_000);
    await assert.rejects(limiter.acquire('test:paused#k', { rpm: 1000 }, 1, 1000), (err: unknown) => err instanceof RetryAfterError && err.retryAfterMs > 28_000);
  });

  it('limits tokens per minute: a burst up to the budget passes, the next call waits for the budget to refill', async () => {
    const limiter = createPgLimiter(pool);
    const limit = { rpm: 100_000, tpm: 6000 }; // 100 tokens per second
    await limiter.acquire('test:tokens#k', limit, 5000, 0);
    await limiter.consume('test:tokens#k', limit, 1000);
    await assert.rejects(limiter.acquire('test:tokens#k', limit, 600, 1000), (err: unknown) => err instanceof RetryAfterError && err.retryAfterMs > 5000);
  });
});
