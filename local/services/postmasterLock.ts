/**
 * What a killed run leaves on a Postgres data directory, cleared so the next start succeeds at once: a postmaster
 * still running (only its parent was killed) or still dying, backends that outlive it for a moment while attached to
 * its shared memory, and `postmaster.pid`. Postgres refuses to start while the pid named in that file is alive —
 * a zombie nobody reaps included, and a stranger that reused the pid — or while the old shared memory block still
 * has processes attached ("lock file postmaster.pid already exists", "pre-existing shared memory block is still in
 * use"). A postmaster and its backends all run with the data directory as their working directory, which is how
 * they are told from any other process.
 */
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processArgs, processCwd, processesIn, stopProcess, waitForExit } from './processes';

/** How long each shutdown step (fast, immediate, kill) may take before the next, harsher one. */
const STEP_MS = 5_000;

export async function clearLeftoverPostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(dataDir)) return;
  const dir = realpathSync(dataDir);
  const pidFile = join(dir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;

  if (isProcessAlive(pid) && isPostmasterOf(pid, dir)) {
    log(`stopping an orphaned postgres (pid ${pid}) left by a previous run`);
    // Fast shutdown checkpoints and ends cleanly; immediate shutdown and then SIGKILL only if it does not go.
    await stopProcess(pid, ['SIGINT', 'SIGQUIT', 'SIGKILL'], STEP_MS);
  }
  const stragglers = processesIn(dir);
  if (stragglers.length > 0) {
    log(`waiting for ${stragglers.length} process(es) of a previous postgres on ${dir} to exit`);
    if (!(await waitForExit(stragglers, STEP_MS))) {
      for (const straggler of stragglers) await stopProcess(straggler, ['SIGKILL'], STEP_MS);
    }
  }
  // Gone, a zombie, or a stranger now using the number: the file is stale either way.
  if (pid > 0 && existsSync(pidFile) && !(isProcessAlive(pid) && isPostmasterOf(pid, dir))) rmSync(pidFile, { force: true });
}

/** Whether `pid` is a postgres serving the data directory `dir` (its cwd, or its `-D` argument). */
function isPostmasterOf(pid: number, dir: string): boolean {
  if (processCwd(pid) === dir) return true;
  const args = processArgs(pid);
  const at = args.indexOf('-D');
  if (at < 0 || !/postgres/.test(args[0] ?? '')) return false;
  try {
    return realpathSync(args[at + 1] ?? '') === dir;
  } catch {
    return false;
  }
}
