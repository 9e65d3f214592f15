/**
 * One running longhaul per home directory: a pid file that a live process keeps and a dead one's successor takes over.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './processes';

export interface HomeLock {
  release(): Promise<void>;
}

export async function acquireHomeLock(home: string): Promise<HomeLock> {
  mkdirSync(home, { recursive: true });
  const file = join(home, 'longhaul.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && pid !== process.pid && isLiveNode(pid)) {
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

function isLiveNode(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return /node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}
