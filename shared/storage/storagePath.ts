/**
 * `storage://<bucket>/<path>` recording URLs, parsed once and checked segment by segment. Storage is reached with
 * rights that can read other users' objects (the service role on projects without a JWT secret), so the object a
 * request names must be exactly the one checked here: every segment is percent-decoded exactly once, checked as
 * decoded, and encoded again by us for the request URL (supabase-js puts the path into the URL as given, and URL
 * parsing turns `%2e%2e` into `..`).
 */

/** The only bucket recordings are read from (created, with its per-user folder policies, by the migrations). */
export const RECORDINGS_BUCKET = 'recordings';

const SCHEME = 'storage://';
// Supabase's per-user folder convention: the first folder is the owner's id as auth.uid()::text writes it (lowercase).
const OWNER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// S3's key limit, which Supabase Storage keeps (bytes of the decoded object name).
const MAX_KEY_BYTES = 1024;
// A file system's name limit: no legitimate folder or file name is longer.
const MAX_SEGMENT_BYTES = 255;
// Bounds the work done on a raw URL before it is refused (a fully escaped 1,024-byte key is ~3 KB).
const MAX_URL_CHARS = 4096;
// `/` and `\` would split a segment again on the other side (`\` is a separator for http URLs); `%` left after the one
// decoding means a second decoding somewhere would change the name (Storage accepts no `%` in keys anyway); control
// characters (C0, DEL, C1) have no place in a file name and confuse logs.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_SEGMENT = /[/\\%\u0000-\u001f\u007f-\u009f]/;
const MALFORMED_ESCAPE = /%(?![0-9a-fA-F]{2})/;

/** A checked recording location: the decoded object key, its owner, and the key as it must appear in a request URL. */
export interface RecordingPath {
  bucket: typeof RECORDINGS_BUCKET;
  /** The owner's id: the first folder of the key. */
  ownerId: string;
  /** The decoded object key (`<owner id>/<folders>/<file>`), what Storage's policies see as storage.objects.name. */
  key: string;
  /** The key with every segment percent-encoded: decoding it once (as Storage does) gives `key` exactly. */
  encodedKey: string;
}

export type StoragePathResult = { ok: true; path: RecordingPath } | { ok: false; problem: string };

/** Whether a URL claims the storage:// scheme at all (then it must parse, or be refused; never fetched as something else). */
export function isStorageUrl(url: string): boolean {
  return url.startsWith(SCHEME);
}

function decodeSegment(raw: string): string | undefined {
  if (MALFORMED_ESCAPE.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    // Escapes that are not UTF-8 (`%c0%ae`, a lone `%ff`).
    return undefined;
  }
}

function wellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    // A lone surrogate: not text Storage could store, and not encodable for a URL.
    return false;
  }
}

/**
 * Parses and checks `storage://recordings/<owner id>/<path>` without knowing who asks (schema validation): the
 * owner's folder is checked by the caller against the job owner (`checkRecordingOwner`).
 */
export function parseStorageUrl(url: string): StoragePathResult {
  if (!isStorageUrl(url)) return { ok: false, problem: 'not a storage:// URL' };
  if (url.length > MAX_URL_CHARS) return { ok: false, problem: `longer than ${MAX_URL_CHARS} characters` };
  const [rawBucket = '', ...rawSegments] = url.slice(SCHEME.length).split('/');
  if (decodeSegment(rawBucket) !== RECORDINGS_BUCKET) return { ok: false, problem: `recordings are read from the bucket "${RECORDINGS_BUCKET}" only: storage://${RECORDINGS_BUCKET}/<your user id>/<file>` };
  if (rawSegments.length < 2) return { ok: false, problem: `the path must be <your user id>/<file> inside the bucket: storage://${RECORDINGS_BUCKET}/<your user id>/<file>` };
  const segments: string[] = [];
  for (const [n, raw] of rawSegments.entries()) {
    const segment = decodeSegment(raw);
    const where = `path segment ${n + 1}`;
    if (segment === undefined) return { ok: false, problem: `${where} has a malformed percent-escape` };
    if (segment === '') return { ok: false, problem: `${where} is empty (no "//" or trailing "/")` };
    if (segment === '.' || segment === '..') return { ok: false, problem: `${where} is "${segment}": no relative segments` };
    if (FORBIDDEN_IN_SEGMENT.test(segment)) return { ok: false, problem: `${where} contains "/", "\\", "%" or a control character once decoded` };
    if (!wellFormed(segment)) return { ok: false, problem: `${where} is not well-formed text` };
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return { ok: false, problem: `${where} is longer than ${MAX_SEGMENT_BYTES} bytes` };
    segments.push(segment);
  }
  const ownerId = segments[0]!;
  if (!OWNER_ID.test(ownerId)) return { ok: false, problem: `the first folder must be your user id (a lowercase UUID): storage://${RECORDINGS_BUCKET}/<your user id>/<file>` };
  const key = segments.join('/');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return { ok: false, problem: `the object name is longer than ${MAX_KEY_BYTES} bytes` };
  return { ok: true, path: { bucket: RECORDINGS_BUCKET, ownerId, key, encodedKey: segments.map(encodeURIComponent).join('/') } };
}

/**
 * Parses `url` and checks that it names a file in the folder of `ownerId` (the job's owner); the problem, when there
 * is one, says which folder was expected and why the URL is not in it.
 */
export function parseOwnedStorageUrl(url: string, ownerId: string): StoragePathResult {
  const owner = ownerId.toLowerCase();
  const parsed = parseStorageUrl(url);
  const reason = !parsed.ok ? parsed.problem : parsed.path.ownerId !== owner ? "it is in another user's folder" : undefined;
  if (reason === undefined) return parsed;
  return { ok: false, problem: `the recording is outside the job owner's folder storage://${RECORDINGS_BUCKET}/${owner}/: ${reason}` };
}
