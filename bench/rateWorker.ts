/**
 * One "instance" of the rate-limit benchmark: calls the fake provider through the official SDK as fast as its limiter
 * lets it, with 4 calls in flight, for a while; prints {ok, rateLimited}.
 *   node rateWorker.js <shared|bottleneck> <databaseUrl> <providerBaseUrl> <rpm> <durationMs>
 */
import Bottleneck from 'bottleneck';
import { Pool } from 'pg';
import { createOpenAiText } from '../shared/ai/openaiProvider';
import { createPgLimiter, limitKey } from '../shared/ai/rateLimiter';
import { RetryAfterError } from '../shared/errors';

async function main(): Promise<void> {
  const [mode, databaseUrl, baseUrl, rpmText, durationText] = process.argv.slice(2);
  const rpm = Number(rpmText);
  const until = Date.now() + Number(durationText);
  const text = createOpenAiText({ apiKey: 'bench', baseUrl: baseUrl!, model: 'bench-model' });
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const shared = createPgLimiter(pool);
  // The per-process alternative: each instance configured with the provider's limit, as a worker's own setting would be.
  const local = new Bottleneck({ minTime: 60_000 / rpm, maxConcurrent: 4 });
  let ok = 0;
  let rateLimited = 0;
  const call = async (): Promise<void> => {
    try {
      await text.generate({ prompt: 'ping' });
      ok++;
    } catch (err) {
      if (err instanceof RetryAfterError && err.status === 429) rateLimited++;
      else throw err;
    }
  };
  const lane = async (): Promise<void> => {
    while (Date.now() < until) {
      if (mode === 'shared') {
        await shared.acquire(limitKey('openai', 'bench-model', 'bench'), { rpm }, 0, 120_000);
        if (Date.now() >= until) break;
        await call();
      } else {
        await local.schedule(() => (Date.now() < until ? call() : Promise.resolve()));
      }
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  await pool.end();
  process.stdout.write(`${JSON.stringify({ ok, rateLimited })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
