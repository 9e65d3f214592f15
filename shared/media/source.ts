/**
 * Where a recording comes from: an http(s) URL as given, or `storage://bucket/<owner id>/path` in the project's
 * Supabase Storage, turned into a short-lived signed URL with the service role through `@supabase/supabase-js`.
 * The service role reads any object, so the path must lie in the job owner's own folder (Supabase's per-user folder
 * convention, which the bucket policies enforce for uploads): otherwise one user could have another's file analysed.
 */
import { supabaseStorage, storageErrorStatus } from '../storage/supabaseStorage';
import { NonRetriableError, RetryAfterError } from '../errors';

// Long enough to start the download; the stream then continues on the open connection.
const SIGNED_URL_SECONDS = 600;

export const STORAGE_URL = /^storage:\/\/([a-z0-9][a-z0-9._-]{0,62})\/(.+)$/;

export async function resolveRecordingUrl(url: string, ownerId: string): Promise<string> {
  const storage = STORAGE_URL.exec(url);
  if (!storage) return url;
  // Dot segments would let `<owner>/../<other>/file` pass the prefix test yet name another user's object.
  if (!storage[2]!.startsWith(`${ownerId}/`) || storage[2]!.split('/').some((part) => part === '.' || part === '..')) {
    throw new NonRetriableError(`the recording ${url} is outside the job owner's folder: storage paths must start with ${ownerId}/`);
  }
  const { data, error } = await supabaseStorage('storage:// recordings').from(storage[1]!).createSignedUrl(storage[2]!, SIGNED_URL_SECONDS);
  if (error || !data?.signedUrl) {
    const status = storageErrorStatus(error);
    if (status >= 500) throw new RetryAfterError(`Supabase Storage answered ${status}`, 2000);
    throw new NonRetriableError(`the recording ${url} could not be found in Supabase Storage${error ? `: ${error.message}` : ''}`);
  }
  return data.signedUrl;
}
