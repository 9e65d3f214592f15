/**
 * Runs the Functions host as a child process of `npm start` and starts a fresh one whenever it ends unasked, as the
 * platform replaces a crashed or timed-out worker. The host ends itself when an invocation exceeds functionTimeout
 * (the only way to stop JavaScript that is still running), so a supervisor is what keeps the stack up.
 *
 * The child reports readiness over an IPC channel, and ends itself when that channel closes: a supervisor killed
 * with -9 leaves no host holding the port. Its pid is kept in `pidFile` so the next start can stop one that has not.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isProcessAlive, processArgs, stopProcess } from './processes';
import type { HostLogger } from '../host/logger';

/** What the host sends its supervisor once it serves requests. */
export interface HostReadyMessage {
  type: 'ready';
  url: string;
  port: number;
  functionNames: string[];
}

export interface SupervisedHostOptions {
  /** The host's entry script (dist/local/host/main.js) and its arguments (the app directory). */
  script: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  pidFile: string;
  log: HostLogger;
  /** First restart delay; it doubles with each crash in a row, up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

export interface SupervisedHost {
  url: string;
  functionNames: string[];
  /** pid of the host process running now (undefined between a crash and its restart). */
  readonly pid: number | undefined;
  /** Hosts started after the first. */
  readonly restarts: number;
  stop(): Promise<void>;
}

/** A host that has run this long without crashing resets the restart back-off. */
const STABLE_MS = 30_000;
/** Graceful stop (finishing in-flight activities takes up to 10 s) before SIGKILL. */
const STOP_GRACE_MS = 15_000;

/** Stops a host process left by an earlier run of this home (its supervisor was killed, and it has not ended yet). */
export async function stopLeftoverHost(pidFile: string, script: string, log: HostLogger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (isProcessAlive(pid) && processArgs(pid).includes(script)) {
    log.info(`stopping the host (pid ${pid}) left by a previous run`);
    await stopProcess(pid, ['SIGTERM', 'SIGKILL'], STOP_GRACE_MS);
  }
  rmSync(pidFile, { force: true });
}

export async function superviseHost(opts: SupervisedHostOptions): Promise<SupervisedHost> {
  const env: NodeJS.ProcessEnv = { ...opts.env };
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let crashesInARow = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let launching: Promise<{ child: ChildProcess }> | undefined;

  const launch = (): Promise<{ child: ChildProcess; ready: HostReadyMessage }> =>
    new Promise((resolve, reject) => {
      // stdout/stderr go straight to ours; the IPC channel carries readiness and tells the host when we are gone.
      const next = fork(opts.script, opts.args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      writeFileSync(opts.pidFile, `${next.pid}\n`);
      const onMessage = (message: unknown): void => {
        if ((message as { type?: string } | null)?.type !== 'ready') return;
        next.off('exit', onEarlyExit);
        resolve({ child: next, ready: message as HostReadyMessage });
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        next.off('message', onMessage);
        reject(new Error(`the host exited (${describeExit(code, signal)}) before it was ready`));
      };
      next.on('message', onMessage);
      next.once('exit', onEarlyExit);
      next.once('error', reject);
    });

  const watch = (running: ChildProcess, startedAt: number): void => {
    running.once('exit', (code, signal) => {
      if (child === running) child = undefined;
      if (stopping) return;
      crashesInARow = Date.now() - startedAt > STABLE_MS ? 1 : crashesInARow + 1;
      scheduleRestart(`the host (pid ${running.pid}) ended unasked (${describeExit(code, signal)})`);
    });
  };

  const scheduleRestart = (reason: string): void => {
    const first = opts.restartDelayMs ?? 250;
    const delay = Math.min(opts.maxRestartDelayMs ?? 10_000, first * 2 ** Math.max(0, crashesInARow - 1));
    opts.log.error(`${reason}; starting a new host in ${delay} ms`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      const startedAt = Date.now();
      launching = launch();
      launching.then(
        ({ child: next }) => {
          launching = undefined;
          if (stopping) return; // stop() ends it
          restarts++;
          child = next;
          watch(next, startedAt);
          opts.log.info(`host restarted (pid ${next.pid})`);
        },
        (err: unknown) => {
          launching = undefined;
          if (stopping) return;
          crashesInARow++;
          scheduleRestart((err as Error).message);
        },
      );
    }, delay);
  };

  // The first start is not retried: a host that cannot start (bad host.json, port taken) is the user's to fix.
  const first = await launch();
  child = first.child;
  watch(first.child, Date.now());
  // Restarts keep the port the first host bound (LONGHAUL_PORT=0 asks for any), so URLs in local.json stay valid.
  env.LONGHAUL_PORT = String(first.ready.port);

  return {
    url: first.ready.url,
    functionNames: first.ready.functionNames,
    get pid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const running = child ?? (await launching?.catch(() => undefined))?.child;
      if (running?.pid !== undefined && running.exitCode === null && running.signalCode === null) {
        await stopProcess(running.pid, ['SIGTERM', 'SIGKILL'], STOP_GRACE_MS);
      }
      rmSync(opts.pidFile, { force: true });
    },
  };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}
