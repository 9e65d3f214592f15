/**
 * One running longhaul per home directory: a pid file that a live process keeps and a dead one's successor takes over.
 * A holder killed a moment ago (`kill -9` of the stack, then `npm start` at once) may still be exiting, or be a zombie
 * nobody reaps; neither holds the home. Neither does an unrelated process that happens to have the recorded pid now.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processArgs, waitForExit } from './processes';

export interface HomeLock {
  release(): Promise<void>;
}

/** How long a holder that is still exiting may take before it counts as a live, running longhaul. */
const EXITING_GRACE_MS = 3_000;

export async function acquireHomeLock(home: string): Promise<HomeLock> {
  mkdirSync(home, { recursive: true });
  const file = join(home, 'longhaul.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && pid !== process.pid && isLonghaul(pid) && !(await waitForExit([pid], EXITING_GRACE_MS))) {
      throw new Error(`another longhaul (pid ${pid}) is running on ${home}; stop it first or set LONGHAUL_HOME`);
    }
  }
  writeFileSync(file, `${process.pid}\n`);
  return {
    async release() {
      if (existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    },
  };
}

/** Whether `pid` is a live longhaul start process (its command line runs local/cli/start). */
function isLonghaul(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  const args = processArgs(pid);
  // An unreadable command line (another user's process, no /proc): assume the worst, as the lock did before.
  return args.length === 0 || args.some((a) => /local[\\/]cli[\\/]start(\.js)?$/.test(a));
}
