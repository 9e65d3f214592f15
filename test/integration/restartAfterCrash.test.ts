import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, repoRoot } from '../support/hostProcess';
import { freePort } from '../../local/services/freePort';
import { isProcessAlive } from '../../local/services/processes';

interface Stack {
  group: ChildProcess;
  /** pid of the longhaul start process (the supervisor), from its ready line. */
  pid: number;
  output: () => string;
}

/**
 * Starts the stack in a process group of its own, as a terminal runs `npm start`: a shell whose child is the start
 * process, whose children are Postgres and the host. (`npm start`'s own first steps — the dependency and build
 * checks — are left out: they would rebuild a working tree that is being edited, and they hold no state.)
 */
async function startStack(home: string, port: number): Promise<Stack> {
  const group = spawn('sh', ['-c', 'node dist/local/cli/start.js'], {
    cwd: repoRoot,
    detached: true,
    env: { ...process.env, LONGHAUL_HOME: home, LONGHAUL_PORT: String(port), LONGHAUL_LOG_LEVEL: 'warn', DATABASE_URL: '', AzureWebJobsStorage: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 90 s:\n${output}`)), 90_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const ready = /ready on http\S+ in \d+ ms \(pid (\d+)\)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    };
    group.stdout?.on('data', onData);
    group.stderr?.on('data', onData);
    group.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${output}`));
    });
  });
  return { group, pid, output: () => output };
}

function killGroup(stack: Stack): void {
  // The whole group at once, as `kill -9 -<pgid>` does: shell, start process, Postgres and its backends, the host.
  process.kill(-stack.group.pid!, 'SIGKILL');
}

describe('npm start after a crash', () => {
  const parent = mkdtempSync(join(tmpdir(), 'longhaul-restart-'));
  // Postgres runs as its own user when tests run as root; keep the home reachable so its data stays inside it.
  chmodSync(parent, 0o755);
  const home = join(parent, 'home');
  let last: Stack | undefined;
  after(async () => {
    if (last && isProcessAlive(last.pid)) {
      process.kill(last.pid, 'SIGTERM');
      await eventually(async () => (isProcessAlive(last!.pid) ? undefined : true), 30_000, 'the last stack to stop');
    }
    rmSync(parent, { recursive: true, force: true });
  });

  it('starts a new host when the host process dies, on the same URL', async () => {
    const port = await freePort();
    last = await startStack(home, port);
    const first = Number(readFileSync(join(home, 'host.pid'), 'utf8'));
    process.kill(first, 'SIGKILL');
    const second = await eventually(async () => {
      const pid = Number(readFileSync(join(home, 'host.pid'), 'utf8'));
      return pid !== first && (await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200 ? pid : undefined;
    }, 30_000, 'a new host serving /api/health');
    assert.ok(isProcessAlive(second));
    assert.match(last.output(), new RegExp(`the host \\(pid ${first}\\) ended unasked \\(signal SIGKILL\\)`));
  });

  it('reaches ready ten times in a row when the whole stack is killed with SIGKILL and started again at once', async () => {
    const port = await freePort();
    const keys = readFileSync(join(home, 'keys.json'), 'utf8');
    for (let round = 1; round <= 10; round++) {
      killGroup(last!);
      // No waiting: the next start must itself deal with a Postgres, a host and a lock holder still dying.
      last = await startStack(home, port).catch((err: Error) => {
        throw new Error(`round ${round}: ${err.message}`);
      });
      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      assert.equal(health.status, 200, `round ${round}: /api/health`);
    }
    assert.equal(readFileSync(join(home, 'keys.json'), 'utf8'), keys, 'the home (keys, data) is reused');
    process.kill(last!.pid, 'SIGTERM');
    await eventually(async () => (isProcessAlive(last!.pid) ? undefined : true), 30_000, 'a clean stop');
    assert.ok(!existsSync(join(home, 'pg', 'postmaster.pid')), 'Postgres stopped with it');
    assert.ok(!existsSync(join(home, 'host.pid')), 'the host stopped with it');
  });
});
