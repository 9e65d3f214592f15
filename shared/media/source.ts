/**
 * Where a recording comes from: an http(s) URL as given, or `storage://recordings/<owner id>/path` in the project's
 * Supabase Storage, turned into a short-lived signed URL. The path is parsed and checked segment by segment
 * (shared/storage/storagePath.ts) and must lie in the job owner's folder, checked here at run time whatever the
 * submission path was. The URL is signed as the job owner (a short-lived token minted with SUPABASE_JWT_SECRET) so
 * Storage's own policies decide too; projects with asymmetric signing keys only have no secret to mint with, and sign
 * with the service role, guarded by the parse alone.
 */
import { getConfig, type AppConfig } from '../config';
import { NonRetriableError, RetryAfterError } from '../errors';
import { parseOwnedStorageUrl, RECORDINGS_BUCKET } from '../storage/storagePath';
import { storageErrorStatus, supabaseStorage, supabaseStorageAsUser } from '../storage/supabaseStorage';

// Long enough to start the download; the stream then continues on the open connection.
const SIGNED_URL_SECONDS = 600;
const PURPOSE = 'storage:// recordings';

/** The URL to download a recording from: the URL itself (http/https) or a signed URL for a storage:// object. */
export async function resolveRecordingUrl(url: string, ownerId: string, settings: AppConfig['supabase'] = getConfig().supabase): Promise<string> {
  // Anything else than http(s) is read as a storage:// URL, so nothing unchecked reaches the download.
  if (/^https?:\/\//.test(url)) return url;
  const parsed = parseOwnedStorageUrl(url, ownerId);
  if (!parsed.ok) throw new NonRetriableError(`input.url: ${parsed.problem}`);
  const storage = (await supabaseStorageAsUser(PURPOSE, ownerId, settings)) ?? supabaseStorage(PURPOSE, settings);
  // The encoded key: supabase-js puts it into the request URL as given, and Storage decodes it once into `key`.
  const { data, error } = await storage.from(RECORDINGS_BUCKET).createSignedUrl(parsed.path.encodedKey, SIGNED_URL_SECONDS);
  if (error || !data?.signedUrl) {
    const status = storageErrorStatus(error);
    if (status >= 500) throw new RetryAfterError(`Supabase Storage answered ${status}`, 2000);
    // Storage answers "not found" alike for a missing object and one the owner's policies do not let them read.
    throw new NonRetriableError(`the recording storage://${RECORDINGS_BUCKET}/${parsed.path.key} could not be found in Supabase Storage${error ? `: ${error.message}` : ''}`);
  }
  return data.signedUrl;
}
