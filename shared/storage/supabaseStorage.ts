/**
 * Supabase Storage for the service side: one supabase-js client per project, used with the service role for what
 * a worker needs (signed URLs to read recordings, uploads of generated files). Sessions and Realtime stay off: a
 * worker has no user session to persist and no channel to listen on.
 */
import { createClient } from '@supabase/supabase-js';
import { ConfigError, getConfig } from '../config';

type StorageApi = ReturnType<typeof createClient>['storage'];

const clients = new Map<string, StorageApi>();

/** The project's Storage API as the service role; names the missing setting when the project is not configured. */
export function supabaseStorage(purpose: string): StorageApi {
  const { url, serviceRoleKey } = getConfig().supabase;
  if (!url || !serviceRoleKey) throw new ConfigError(`Settings SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are needed for ${purpose}`);
  const key = `${url}\n${serviceRoleKey}`;
  let storage = clients.get(key);
  if (!storage) {
    storage = createClient(url, serviceRoleKey, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } }).storage;
    clients.set(key, storage);
  }
  return storage;
}

/** The HTTP status inside a Storage error, whichever field this version of the client puts it in. */
export function storageErrorStatus(error: unknown): number {
  const e = error as { status?: number | string; statusCode?: number | string } | null;
  return Number(e?.status ?? e?.statusCode ?? 0);
}
