/**
 * `npm test`: starts one throw-away Postgres cluster and one in-memory Azurite, then runs every compiled test file
 * with node:test against them (each file creates its own database). Arguments filter files by substring:
 *   node dist/test/run.js durable http
 * Slow chaos files (`*.slow.test.ts`) run only with `--chaos` (`npm run test:chaos`), which runs nothing else.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fg from 'fast-glob';
import { startPostgres } from '../local/services/postgres';
import { startAzurite } from '../local/services/azurite';

async function main(): Promise<number> {
  const distTest = __dirname;
  const chaos = process.argv.includes('--chaos');
  const filters = process.argv.slice(2).filter((a) => a !== '--chaos');
  const files = (await fg('**/*.test.js', { cwd: distTest, absolute: true }))
    .sort()
    .filter((f) => f.endsWith('.slow.test.js') === chaos)
    .filter((f) => filters.length === 0 || filters.some((s) => relative(distTest, f).includes(s)));
  if (files.length === 0) {
    console.error(`no test files match ${filters.join(', ')}`);
    return 1;
  }

  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'longhaul-test-'));
  // Postgres runs as its own user when we are root: it must be able to enter this directory.
  chmodSync(scratch, 0o755);
  const postgres = await startPostgres({ dataDir: join(scratch, 'pg'), ephemeral: true });
  const azurite = await startAzurite();
  console.log(`test services ready in ${Date.now() - started} ms (postgres :${postgres.port}, azurite queue :${azurite.queuePort})`);

  let stopping: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      await azurite.stop().catch(() => undefined);
      await postgres.stop().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    })());

  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
    stdio: 'inherit',
    // LONGHAUL_DEPS_CHECKED: `npm start` inside a test must not reinstall node_modules under the other tests.
    env: { ...process.env, LONGHAUL_TEST_PG_URL: postgres.url, LONGHAUL_TEST_STORAGE: azurite.connectionString, LONGHAUL_DEPS_CHECKED: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      child.kill(signal);
    });
  }
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  await cleanup();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
