/**
 * Function keys, enforced locally (Core Tools skips this; we don't, so auth bugs show up before Azure).
 * The master key admits everything; host keys admit `function`-level routes. Keys live in
 * `${LONGHAUL_HOME}/keys.json`, generated on first start and reused afterwards.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface HostKeys {
  masterKey: string;
  hostKeys: Record<string, string>;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

export function loadOrCreateKeys(file: string): HostKeys {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as HostKeys;
  const keys: HostKeys = { masterKey: generateKey(), hostKeys: { default: generateKey() } };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return keys;
}

/** Constant-time comparison: hashing first makes lengths equal, so neither content nor length leaks through timing. */
export function secretsEqual(provided: string, expected: string): boolean {
  const a = createHash('sha256').update(provided).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && provided.length === expected.length;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';

/** Whether a presented key satisfies an auth level. */
export function keyAllows(keys: HostKeys, level: AuthLevel, presented: string | undefined): boolean {
  if (level === 'anonymous') return true;
  if (!presented) return false;
  // Check every candidate so the time taken does not reveal which kind of key matched.
  let ok = secretsEqual(presented, keys.masterKey);
  if (level === 'function') {
    for (const key of Object.values(keys.hostKeys)) ok = secretsEqual(presented, key) || ok;
  }
  return ok;
}
