/**
 * Local host benchmarks (issue: the local host): sequential activity overhead, fan-out throughput, the cost of
 * replaying the longest history, and `npm start` → ready on a fresh home. Runs against a host process like tests do.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DurableApi } from '../test/support/durableApi';
import { conformanceAppDir, repoRoot, startHostProcess } from '../test/support/hostProcess';
import { freePort } from '../local/services/freePort';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  runs: number[];
  note?: string;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Workload sizes: the figures, or a small smoke run that CI uses to keep the benchmark working. */
export interface Sizes {
  chain: number;
  fanOut: number;
}

export async function benchLocalHost(databaseUrl: string, storage: string, repeats: number, sizes: Sizes = { chain: 500, fanOut: 10_000 }): Promise<Figure[]> {
  const host = await startHostProcess({ appDir: conformanceAppDir(), databaseUrl, storage, env: { LONGHAUL_LOG_LEVEL: 'error' } });
  const api = new DurableApi(host.url, host.keys.masterKey);
  const figures: Figure[] = [];
  try {
    // Warm-up: first invocations load modules and fill caches.
    await api.waitForEnd(await api.start('Chain', 20));

    const chain: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const ms = await timed(async () => void (await api.waitForEnd(await api.start('Chain', sizes.chain), 300_000)));
      chain.push(ms / sizes.chain);
    }
    figures.push({ name: `chain of ${sizes.chain.toLocaleString('en-US')} sequential no-op activities`, value: median(chain), unit: 'ms per activity', runs: chain });

    const fanOut: number[] = [];
    let lastFanOut = '';
    for (let i = 0; i < repeats; i++) {
      const id = await api.start('FanOut', { n: sizes.fanOut });
      const ms = await timed(async () => void (await api.waitForEnd(id, 600_000)));
      fanOut.push(sizes.fanOut / (ms / 1000));
      lastFanOut = id;
    }
    figures.push({ name: `fan-out of ${sizes.fanOut.toLocaleString('en-US')} no-op activities`, value: median(fanOut), unit: 'activities/s', runs: fanOut });

    const sql = new Client({ connectionString: databaseUrl });
    await sql.connect();
    const history = await sql.query<{ count: string }>('select count(*) from durabletask.history where instance_id = $1', [lastFanOut]);
    await sql.end();
    const replay = await replayCost(databaseUrl, lastFanOut, repeats);
    figures.push({
      name: `replay of the longest history (${history.rows[0]?.count} events, the fan-out)`,
      value: median(replay),
      unit: 'ms per replay',
      runs: replay,
      note: 'one orchestrator invocation through the real SDK, in-process',
    });
  } finally {
    await host.stop();
  }
  return figures;
}

/** Replays a stored history through the real SDK in a separate process and reports the invocation time. */
async function replayCost(databaseUrl: string, instanceId: string, repeats: number): Promise<number[]> {
  const out = await runNode([join(__dirname, 'replay.js'), databaseUrl, instanceId, String(repeats)]);
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as number[];
}

function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

/** `npm start` → the line containing "ready", on a fresh LONGHAUL_HOME each time (initdb included). */
export async function benchStartup(repeats: number): Promise<Figure[]> {
  const fresh: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const home = mkdtempSync(join(tmpdir(), 'longhaul-bench-home-'));
    try {
      fresh.push(await timeToReady(home));
      warm.push(await timeToReady(home));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  return [
    { name: '`npm start` → ready, fresh home (deps installed, build up to date)', value: median(fresh), unit: 'ms', runs: fresh },
    { name: '`npm start` → ready, second start on the same home', value: median(warm), unit: 'ms', runs: warm },
  ];
}

async function timeToReady(home: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: repoRoot,
    env: { ...process.env, LONGHAUL_HOME: home, LONGHAUL_PORT: String(port), LONGHAUL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const ms = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/ready on http/.test(out)) resolve(performance.now() - started);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}: ${out}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  return ms;
}
