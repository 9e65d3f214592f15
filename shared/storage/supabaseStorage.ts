/**
 * Supabase Storage for the service side: supabase-js clients used with the service role for what a worker needs
 * (uploads of generated files, signed URLs), or with a short-lived token of a job's owner where Storage's own policies
 * should decide what that user may read. Sessions and Realtime stay off: a worker has no session to persist and no
 * channel to listen on.
 */
import { createClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import { ConfigError, getConfig, type AppConfig } from '../config';

type StorageApi = ReturnType<typeof createClient>['storage'];
type SupabaseSettings = AppConfig['supabase'];

const clients = new Map<string, StorageApi>();
// A user token only has to outlive the one request it authorises (signing a URL); 60 s also covers clock skew.
const USER_TOKEN_SECONDS = 60;
const NO_SESSION = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

function requireProject(settings: SupabaseSettings, purpose: string): { url: string; serviceRoleKey: string } {
  const { url, serviceRoleKey } = settings;
  if (!url || !serviceRoleKey) throw new ConfigError(`Settings SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are needed for ${purpose}`);
  return { url, serviceRoleKey };
}

/** The project's Storage API as the service role; names the missing setting when the project is not configured. */
export function supabaseStorage(purpose: string, settings: SupabaseSettings = getConfig().supabase): StorageApi {
  const { url, serviceRoleKey } = requireProject(settings, purpose);
  const key = `${url}\n${serviceRoleKey}`;
  let storage = clients.get(key);
  if (!storage) {
    storage = createClient(url, serviceRoleKey, { auth: NO_SESSION }).storage;
    clients.set(key, storage);
  }
  return storage;
}

/**
 * A token Storage accepts as the signed-in user `userId` (HS256 with SUPABASE_JWT_SECRET, role and aud
 * `authenticated`, as Supabase Auth issues them), valid for USER_TOKEN_SECONDS.
 */
export async function mintUserToken(userId: string, settings: Pick<SupabaseSettings, 'url' | 'jwtSecret'>, now = Date.now()): Promise<string> {
  if (!settings.jwtSecret) throw new ConfigError('Setting SUPABASE_JWT_SECRET is needed to act as a user in Supabase Storage');
  const issuedAt = Math.floor(now / 1000);
  const token = new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setAudience('authenticated');
  if (settings.url) token.setIssuer(new URL('auth/v1', settings.url.endsWith('/') ? settings.url : `${settings.url}/`).href);
  return token.setIssuedAt(issuedAt).setExpirationTime(issuedAt + USER_TOKEN_SECONDS).sign(new TextEncoder().encode(settings.jwtSecret));
}

/**
 * The project's Storage API acting as the user `userId`, so Storage's row-level security on storage.objects decides
 * what they may read; undefined when the project has no SUPABASE_JWT_SECRET (asymmetric signing keys only: no token
 * can be minted here). The project key still goes in `apikey` (the API gateway wants one); Storage authorises by the
 * Authorization header, which carries the user's token. One client per call: the token is the user's and short-lived.
 */
export async function supabaseStorageAsUser(purpose: string, userId: string, settings: SupabaseSettings = getConfig().supabase): Promise<StorageApi | undefined> {
  if (!settings.jwtSecret) return undefined;
  const { url, serviceRoleKey } = requireProject(settings, purpose);
  const token = await mintUserToken(userId, settings);
  return createClient(url, serviceRoleKey, { auth: NO_SESSION, global: { headers: { Authorization: `Bearer ${token}` } } }).storage;
}

/** The HTTP status inside a Storage error, whichever field this version of the client puts it in. */
export function storageErrorStatus(error: unknown): number {
  const e = error as { status?: number | string; statusCode?: number | string } | null;
  return Number(e?.status ?? e?.statusCode ?? 0);
}
