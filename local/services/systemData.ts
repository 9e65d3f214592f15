/**
 * Relocated Postgres data (as root, a home under a private parent keeps its cluster in /var/lib/longhaul/<hash>/pg,
 * where the postgres user can reach it) lives exactly as long as its home. Each relocated directory holds an owner
 * record naming the data directory it stands for; every start removes the ones whose home is gone and that no process
 * runs in, and a throw-away (ephemeral) cluster is removed when it stops.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processesIn } from './processes';

const OWNER_FILE = 'owner.json';

interface OwnerRecord {
  /** The data directory the home asked for (`<home>/pg`); the home is its parent. */
  requested: string;
}

/** Records, inside `<systemDir>/<hash>`, which requested data directory it holds. */
export function recordOwner(relocatedDir: string, requested: string): void {
  const record: OwnerRecord = { requested };
  writeFileSync(join(relocatedDir, OWNER_FILE), `${JSON.stringify(record)}\n`);
}

/**
 * Removes each `<systemDir>/<hash>` whose owner's home no longer exists and in which no process runs.
 * Directories without an owner record (written by versions that kept none) are left alone: nothing says whose they are.
 * Returns the directories removed.
 */
export function sweepOrphanedData(systemDir: string, log: (line: string) => void): string[] {
  if (!existsSync(systemDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(systemDir)) {
    if (!/^[0-9a-f]{16}$/.test(name)) continue;
    const dir = join(systemDir, name);
    const owner = readOwner(dir);
    if (!owner || existsSync(dirname(owner.requested))) continue;
    if (processesIn(join(dir, 'pg')).length > 0) continue;
    rmSync(dir, { recursive: true, force: true });
    log(`removed ${dir}: the Postgres data of ${owner.requested}, whose home is gone`);
    removed.push(dir);
  }
  return removed;
}

function readOwner(dir: string): OwnerRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    return typeof record.requested === 'string' && record.requested.startsWith('/') ? { requested: record.requested } : undefined;
  } catch {
    return undefined;
  }
}
