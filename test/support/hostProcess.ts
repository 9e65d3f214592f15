/**
 * Starts the local host as a child process on a test database and storage account, the way a deployment runs
 * instances: separate processes that can be killed (-9) and restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKey, type HostKeys } from '../../local/http/keys';

/** Repository root (dist/test/support → three levels up). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** Prepares the compiled conformance fixture app (package.json and host.json beside the built functions). */
export function conformanceAppDir(): string {
  const dir = join(repoRoot, 'dist', 'test', 'fixtures', 'conformance');
  for (const file of ['package.json', 'host.json']) copyFileSync(join(repoRoot, 'test', 'fixtures', 'conformance', file), join(dir, file));
  return dir;
}

export interface HostProcess {
  url: string;
  keys: HostKeys;
  child: ChildProcess;
  output: () => string;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** kill -9 and wait for exit. */
  kill(): Promise<void>;
}

export interface HostProcessOptions {
  appDir: string;
  databaseUrl: string;
  /** AzureWebJobsStorage; null leaves it unset (identity-based storage settings come in `env`). */
  storage: string | null;
  keys?: HostKeys;
  env?: Record<string, string>;
}

export function testKeys(): HostKeys {
  return { masterKey: generateKey(), hostKeys: { default: generateKey() } };
}

export async function startHostProcess(opts: HostProcessOptions): Promise<HostProcess> {
  const keys = opts.keys ?? testKeys();
  const home = mkdtempSync(join(tmpdir(), 'longhaul-host-'));
  const keysFile = join(home, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(keys));
  const { AzureWebJobsStorage: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'local', 'host', 'main.js'), opts.appDir], {
    env: {
      ...inherited,
      DATABASE_URL: opts.databaseUrl,
      ...(opts.storage === null ? {} : { AzureWebJobsStorage: opts.storage }),
      LONGHAUL_PORT: '0',
      LONGHAUL_HOME: home,
      LONGHAUL_KEYS_FILE: keysFile,
      LONGHAUL_LOG_LEVEL: process.env.LONGHAUL_TEST_HOST_LOG ?? 'warn',
      // Test files share one Azurite: each database gets its own queues.
      CONF_IN_QUEUE: `in-${queueSuffix(opts.databaseUrl)}`,
      CONF_OUT_QUEUE: `out-${queueSuffix(opts.databaseUrl)}`,
      // The real app's queue and timer bindings (binding expressions must resolve, as on Azure).
      JOBS_QUEUE_NAME: `jobs-${queueSuffix(opts.databaseUrl)}`,
      SWEEPER_SCHEDULE: '*/1 * * * * *',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  // Each host gets a home of its own; it goes with the host, so a test run leaves nothing in the temp folder.
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      rmSync(home, { recursive: true, force: true });
      resolveExit();
    }),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    // 60 s by default: chaos tests restart hosts on a 2-core machine shared with other test files. Benchmarks on a
    // machine shared with test suites raise it (bench/run.ts): start-up there can take minutes.
    const readySeconds = Number(process.env.LONGHAUL_TEST_READY_SECONDS ?? 60);
    const timer = setTimeout(() => reject(new Error(`host did not become ready in ${readySeconds} s:\n${output}`)), readySeconds * 1000);
    const onData = (chunk: Buffer): void => {
      // Keep the tail only: a chatty host must not make the test process slow.
      output = (output + chunk.toString()).slice(-200_000);
      if (process.env.LONGHAUL_TEST_HOST_LOG) process.stderr.write(chunk);
      if (ready) return;
      const match = /ready on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        ready = true;
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before ready:\n${output}`));
    });
  });
  return {
    url,
    keys,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Queue-name-safe suffix derived from the test database name. */
export function queueSuffix(databaseUrl: string): string {
  return new URL(databaseUrl).pathname.slice(1).toLowerCase().replace(/[^a-z0-9]/g, '').slice(-40);
}
