import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/hostProcess';
import { signUserToken } from '../../local/supabase/demoUser';
import { DurableApi } from '../support/durableApi';
import { freePort } from '../../local/services/freePort';
import { isProcessAlive as isAlive } from '../../local/services/processes';

interface Started {
  child: ChildProcess;
  /** pid of the longhaul process itself (under `npm start`, npm's child). */
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every process a test started, so none outlives the file (a start that should have been refused, say). */
const spawned: ChildProcess[] = [];

/** Starts the system like a newcomer does and waits for the line containing "ready". */
async function launch(command: string[], home: string, port: number): Promise<Started> {
  const [bin, ...args] = command;
  const child = spawn(bin!, args, {
    cwd: repoRoot,
    env: { ...process.env, LONGHAUL_HOME: home, LONGHAUL_PORT: String(port), LONGHAUL_LOG_LEVEL: 'warn', DATABASE_URL: '', AzureWebJobsStorage: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 90 s:\n${output}`)), 90_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (/ready on http/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${output}`)));
  });
  const pid = Number(/ready on http\S+ in \d+ ms \(pid (\d+)\)/.exec(output)?.[1]);
  // Resolves when the longhaul process is gone (npm may exit first, or not at all after a kill -9 of its child).
  const gone = (async (): Promise<number | null> => {
    const code = await exited;
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    return code;
  })();
  return { child, pid, output: () => output, exited: gone };
}


describe('npm start', () => {
  const parent = mkdtempSync(join(tmpdir(), 'longhaul-start-'));
  // Postgres runs as its own user when tests run as root; keep the home reachable so its data stays inside it.
  chmodSync(parent, 0o755);
  const home = join(parent, 'home');
  const running: Started[] = [];
  after(async () => {
    for (const r of running) {
      if (isAlive(r.pid)) process.kill(r.pid, 'SIGTERM');
      await r.exited;
    }
    for (const child of spawned.filter((c) => c.exitCode === null && c.signalCode === null)) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(parent, { recursive: true, force: true });
  });

  it('starts everything on a fresh home, writes local.json and serves /api/health and the Durable API', async () => {
    const port = await freePort();
    const started = await launch(['npm', 'start', '--silent'], home, port);
    running.push(started);
    assert.match(started.output(), new RegExp(`longhaul ready on http://127\\.0\\.0\\.1:${port}`));

    const local = JSON.parse(readFileSync(join(home, 'local.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['baseUrl', 'databaseUrl', 'storageConnectionString', 'adminKey', 'webhookSecret', 'jwtSecret', 'demoUser']) {
      assert.ok(key in local, `local.json has ${key}`);
    }
    assert.equal(local.baseUrl, `http://127.0.0.1:${port}`);
    assert.ok(existsSync(join(home, 'pg', 'PG_VERSION')), 'Postgres data lives in the home');

    // Anonymous callers get the verdicts only (README's first curl); the admin key gets each check's detail.
    const anonymous = (await (await fetch(`${local.baseUrl}/api/health`)).json()) as { status: string; checks: Record<string, unknown> };
    assert.deepEqual(anonymous, { status: 'healthy', checks: { database: { status: 'ok' }, queue: { status: 'ok' }, durable: { status: 'ok' }, ai: { status: 'ok' } } });
    const health = await fetch(`${local.baseUrl}/api/health`, { headers: { 'x-functions-key': String(local.adminKey) } });
    assert.equal(health.status, 200);
    const report = (await health.json()) as { status: string; checks: Record<string, { status: string }> };
    assert.equal(report.status, 'healthy');
    assert.deepEqual(Object.fromEntries(Object.entries(report.checks).map(([k, v]) => [k, v.status])), { database: 'ok', queue: 'ok', durable: 'ok', ai: 'ok' });
    assert.match(String((report.checks.ai as { detail?: string }).detail), /^text: local \(longhaul-local-1\), embeddings: local/, 'the offline model when no key is set');

    const api = new DurableApi(String(local.baseUrl), String(local.adminKey));
    const list = await fetch(api.url('instances/'));
    assert.equal(list.status, 200);
    assert.deepEqual(await list.json(), []);
    assert.equal((await fetch(`${local.baseUrl}/runtime/webhooks/durabletask/instances/`)).status, 401);
  });

  it('runs the README\'s first workflow as the demo user (10,000 credits) and shows its result', async () => {
    const local = JSON.parse(readFileSync(join(home, 'local.json'), 'utf8')) as { baseUrl: string; demoUser: { id: string; token: string } };
    const auth = { authorization: `Bearer ${local.demoUser.token}` };
    const credits = (await (await fetch(`${local.baseUrl}/api/credits`, { headers: auth })).json()) as { balance: number };
    assert.equal(credits.balance, 10_000);
    // The local stack checks a token's issuer as a project does: the same user and secret under another issuer is 401.
    const { jwtSecret } = JSON.parse(readFileSync(join(home, 'local.json'), 'utf8')) as { jwtSecret: string };
    const foreign = await signUserToken(local.demoUser.id, jwtSecret, { issuer: 'https://other-project.supabase.co/auth/v1' });
    assert.equal((await fetch(`${local.baseUrl}/api/credits`, { headers: { authorization: `Bearer ${foreign}` } })).status, 401);
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    // The README's example body, taken from the README itself so the two cannot drift apart.
    const body = /<!-- first-workflow -->\s*```bash[\s\S]*?-d '([^']+)'/.exec(readme)?.[1];
    assert.ok(body, 'README has the first-workflow example');
    const submitted = await fetch(`${local.baseUrl}/api/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    assert.equal(submitted.status, 202);
    const { id } = (await submitted.json()) as { id: string };
    let job: { status: string; result: { outputs: Record<string, string> } } | undefined;
    for (let i = 0; i < 200 && job?.status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await (await fetch(`${local.baseUrl}/api/jobs/${id}`, { headers: auth })).json()) as typeof job;
    }
    assert.equal(job?.status, 'completed');
    assert.match(job?.result.outputs.post ?? '', /^# \[offline local model \w+\] Write a title about tidal energy/);
  });

  it('refuses a second start on a home that is in use', async () => {
    const port = await freePort();
    await assert.rejects(launch(['node', 'dist/local/cli/start.js'], home, port), /another longhaul \(pid \d+\) is running/);
  });

  it('recovers after kill -9 (stale lock, orphaned Postgres) and reuses the data and keys', async () => {
    const first = running[0]!;
    const before = JSON.parse(readFileSync(join(home, 'local.json'), 'utf8')) as { adminKey: string; databaseUrl: string };
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const port = await freePort();
    const again = await launch(['node', 'dist/local/cli/start.js'], home, port);
    running.push(again);
    const after = JSON.parse(readFileSync(join(home, 'local.json'), 'utf8')) as { adminKey: string; baseUrl: string };
    assert.equal(after.adminKey, before.adminKey, 'keys are kept across restarts');
    assert.equal((await fetch(`${after.baseUrl}/api/health`)).status, 200);

    // Data survives a graceful restart too: an instance created now is still there after the next start.
    const api = new DurableApi(after.baseUrl, after.adminKey);
    const res = await fetch(api.url('instances/'));
    assert.equal(res.status, 200);
    process.kill(again.pid, 'SIGTERM');
    assert.equal(await again.exited, 0, 'SIGTERM shuts down cleanly');
    assert.ok(!existsSync(join(home, 'pg', 'postmaster.pid')), 'Postgres was stopped with it');
  });
});
