/**
 * Process liveness and leftover clean-up for the services `npm start` runs. After `kill -9` of the whole stack, its
 * processes may still be dying, or be zombies nobody reaps (a container's init need not reap orphans): `kill(pid, 0)`
 * succeeds on both, so liveness is read from /proc, where a zombie (state Z) or a dead task (X) counts as gone.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Whether a process with this pid exists and has not exited (a zombie has exited; it only awaits its parent). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = processState(pid);
  if (state !== undefined) return state !== 'Z' && state !== 'X' && state !== 'x';
  try {
    // No /proc (macOS): signal 0 checks existence without signalling.
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The one-letter state from /proc/<pid>/stat (R, S, D, Z, …); undefined when there is no such process or no /proc. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": comm may contain spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a process as its arguments; empty when it is gone, a zombie, or not readable. */
export function processArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return [];
  }
}

/** The working directory of a process, or undefined when it is gone or not readable. */
export function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Live processes whose working directory is `dir` (a Postgres cluster's postmaster and backends all run in it). */
export function processesIn(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && processCwd(pid) === dir && isProcessAlive(pid));
}

/** Waits until none of `pids` is alive (polling /proc every 25 ms); false when `timeoutMs` passed first. */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pids.some(isProcessAlive)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Ends a leftover process: each signal in turn, waiting `graceMs` after each for it to exit (a zombie counts as
 * exited). Returns whether it is gone. A process that vanished in between (ESRCH) is gone.
 */
export async function stopProcess(pid: number, signals: NodeJS.Signals[], graceMs: number): Promise<boolean> {
  for (const signal of signals) {
    if (!isProcessAlive(pid)) return true;
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
      throw err;
    }
    if (await waitForExit([pid], graceMs)) return true;
  }
  return !isProcessAlive(pid);
}
