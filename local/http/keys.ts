/**
 * Function keys, enforced locally (Core Tools skips this; we don't, so auth bugs show up before Azure).
 * As on Azure there are three kinds: the master key admits everything (it is the operator's admin key); host keys
 * admit `function`-level routes; a system key admits only its extension's webhook — `durabletask_extension` opens the
 * Durable management API and is the key the `durableClient` binding hands to the app (so a check-status response an
 * app returns to its users carries that key, never the master key). Keys live in `${LONGHAUL_HOME}/keys.json`,
 * generated on first start and reused afterwards; a file written before system keys existed gains one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Name of the Durable extension's system key (the name Azure gives it). */
export const DURABLE_SYSTEM_KEY = 'durabletask_extension';

export interface HostKeys {
  masterKey: string;
  hostKeys: Record<string, string>;
  /** Extension keys by name; a host without a `durabletask_extension` key admits only the master key there. */
  systemKeys?: Record<string, string>;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

export function loadOrCreateKeys(file: string): HostKeys {
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HostKeys) : undefined;
  if (existing?.systemKeys?.[DURABLE_SYSTEM_KEY]) return existing;
  const keys: HostKeys = existing ?? { masterKey: generateKey(), hostKeys: { default: generateKey() } };
  keys.systemKeys = { ...keys.systemKeys, [DURABLE_SYSTEM_KEY]: generateKey() };
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

/** Whether a presented key satisfies an auth level. System keys satisfy none: they open their extension only. */
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

/** Whether a presented key opens an extension's webhook: its system key or the master key. */
export function systemKeyAllows(keys: HostKeys, extension: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const systemKey = keys.systemKeys?.[extension];
  const system = systemKey !== undefined && secretsEqual(presented, systemKey);
  return secretsEqual(presented, keys.masterKey) || system;
}
