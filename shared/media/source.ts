/**
 * Where a recording comes from: an http(s) URL as given, or `storage://bucket/path` in the project's Supabase Storage,
 * turned into a short-lived signed URL with the service role through `@supabase/storage-js` — the Storage client
 * inside supabase-js, used alone because supabase-js's Realtime client refuses to start on Node 20 without a
 * WebSocket package, and a worker needs no Realtime.
 */
import { StorageClient } from '@supabase/storage-js';
import { ConfigError, getConfig } from '../config';
import { NonRetriableError, RetryAfterError } from '../errors';

// Long enough to start the download; the stream then continues on the open connection.
const SIGNED_URL_SECONDS = 600;

export const STORAGE_URL = /^storage:\/\/([a-z0-9][a-z0-9._-]{0,62})\/(.+)$/;

export async function resolveRecordingUrl(url: string): Promise<string> {
  const storage = STORAGE_URL.exec(url);
  if (!storage) return url;
  const { url: supabaseUrl, serviceRoleKey } = getConfig().supabase;
  if (!supabaseUrl || !serviceRoleKey) throw new ConfigError('Settings SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are needed for storage:// recordings');
  const client = new StorageClient(`${supabaseUrl.replace(/\/$/, '')}/storage/v1`, { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` });
  const { data, error } = await client.from(storage[1]!).createSignedUrl(storage[2]!, SIGNED_URL_SECONDS);
  if (error || !data?.signedUrl) {
    const status = Number((error as { status?: number; statusCode?: string } | null)?.status ?? (error as { statusCode?: string } | null)?.statusCode ?? 0);
    if (status >= 500) throw new RetryAfterError(`Supabase Storage answered ${status}`, 2000);
    throw new NonRetriableError(`the recording ${url} could not be found in Supabase Storage${error ? `: ${error.message}` : ''}`);
  }
  return data.signedUrl;
}
