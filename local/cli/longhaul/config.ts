/**
 * Where the CLI connects and as whom. Order, first match wins:
 *   URL:      --url, LONGHAUL_URL, baseUrl of local.json
 *   identity: --admin (the key) | --key | --token, then LONGHAUL_KEY / LONGHAUL_TOKEN, then local.json
 *             (demoUser.token, or adminKey with --admin or for admin-only commands)
 * local.json is ${LONGHAUL_HOME:-.longhaul}/local.json, written by `npm start`; without LONGHAUL_HOME and without
 * ./.longhaul the repository's own .longhaul is tried, so the CLI works from any directory of a clone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './errors';

/** The fields of local.json the CLI reads. */
export interface LocalJson {
  baseUrl?: string;
  adminKey?: string;
  demoUser?: { id?: string; token?: string } | null;
}

/** A resolved connection: base URL and one credential. */
export interface Connection {
  baseUrl: string;
  auth: { type: 'key'; key: string } | { type: 'token'; token: string };
  /** Where each part came from, for `--help`-level diagnostics. */
  source: { url: string; auth: string };
}

/** --url, --key, --token, --admin as given. */
export interface ConnectionFlags {
  url?: string;
  key?: string;
  token?: string;
  admin?: boolean;
}

const repoRoot = resolve(__dirname, '..', '..', '..', '..');

/** The local.json path the CLI reads (it may not exist). */
export function localJsonPath(env: NodeJS.ProcessEnv, cwd: string): string {
  if (env.LONGHAUL_HOME) return join(resolve(cwd, env.LONGHAUL_HOME), 'local.json');
  const here = join(cwd, '.longhaul');
  if (existsSync(here)) return join(here, 'local.json');
  return join(repoRoot, '.longhaul', 'local.json');
}

function readLocalJson(file: string): LocalJson | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalJson;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Resolves the connection; `preferAdmin` makes the admin key the default identity (admin-only commands). */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd: string, preferAdmin = false): Connection {
  const file = localJsonPath(env, cwd);
  let local: LocalJson | null | undefined;
  const loadLocal = (): LocalJson | null => (local === undefined ? (local = readLocalJson(file)) : local);

  let baseUrl: string | undefined;
  let urlSource = '';
  if (flags.url) [baseUrl, urlSource] = [flags.url, '--url'];
  else if (env.LONGHAUL_URL) [baseUrl, urlSource] = [env.LONGHAUL_URL, 'LONGHAUL_URL'];
  else if (loadLocal()?.baseUrl) [baseUrl, urlSource] = [loadLocal()!.baseUrl, file];
  if (!baseUrl) throw new UsageError(`no server: pass --url, set LONGHAUL_URL, or run \`npm start\` (which writes ${file})`);
  try {
    new URL(baseUrl);
  } catch {
    throw new UsageError(`not a URL: ${baseUrl} (from ${urlSource})`);
  }

  const wantAdmin = flags.admin === true || (preferAdmin && !flags.token);
  const candidates: [Connection['auth'] | null, string][] = [
    [flags.key ? { type: 'key', key: flags.key } : null, '--key'],
    [flags.token && !flags.admin ? { type: 'token', token: flags.token } : null, '--token'],
  ];
  if (wantAdmin) candidates.push([env.LONGHAUL_KEY ? { type: 'key', key: env.LONGHAUL_KEY } : null, 'LONGHAUL_KEY']);
  else {
    candidates.push([env.LONGHAUL_TOKEN ? { type: 'token', token: env.LONGHAUL_TOKEN } : null, 'LONGHAUL_TOKEN']);
    candidates.push([env.LONGHAUL_KEY ? { type: 'key', key: env.LONGHAUL_KEY } : null, 'LONGHAUL_KEY']);
  }
  // local.json only describes the server it was written for: its credentials go with its URL.
  if (urlSource === file) {
    const l = loadLocal();
    if (wantAdmin) candidates.push([l?.adminKey ? { type: 'key', key: l.adminKey } : null, `${file} (adminKey)`]);
    if (!flags.admin) candidates.push([l?.demoUser?.token ? { type: 'token', token: l.demoUser.token } : null, `${file} (demoUser.token)`]);
  }
  for (const [auth, source] of candidates) if (auth) return { baseUrl: baseUrl.replace(/\/+$/, ''), auth, source: { url: urlSource, auth: source } };
  throw new UsageError(
    wantAdmin ? 'no admin key: pass --key, set LONGHAUL_KEY, or use the adminKey of a local.json' : 'no credentials: pass --token (a Supabase access token) or --key (the admin key), or set LONGHAUL_TOKEN / LONGHAUL_KEY',
  );
}
