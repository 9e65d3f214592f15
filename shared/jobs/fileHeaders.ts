/**
 * How a job's file is served. The content type a provider reported is not trusted: a type outside a short allow-list
 * is served as application/octet-stream, so an "image" that is really HTML or SVG cannot run script on the API's
 * origin; nosniff stops the browser guessing, the CSP sandbox disarms anything opened anyway, and only images and
 * media are shown inline — everything else downloads, under a filename reduced to safe characters.
 */

const EXACT = new Set(['image/png', 'image/jpeg', 'image/webp', 'video/mp4', 'application/json', 'text/plain']);
const AUDIO = /^audio\/[a-z0-9][a-z0-9.+-]{0,60}$/;

/** The type to serve for a stored content type: itself when allowed (parameters dropped), else application/octet-stream. */
export function servedContentType(stored: string | null | undefined): string {
  const type = (stored ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/plain') return 'text/plain; charset=utf-8';
  if (type === 'application/json') return 'application/json; charset=utf-8';
  return EXACT.has(type) || AUDIO.test(type) ? type : 'application/octet-stream';
}

/** A filename for Content-Disposition: the last path segment, letters, digits, `.`, `_` and `-` only. */
export function safeFilename(name: string): string {
  const base = (name.split(/[/\\]/).pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 100);
  return base.replace(/_+/g, '_') || 'file';
}

/** The response headers of a job file. */
export function jobFileHeaders(storedType: string | null | undefined, name: string): Record<string, string> {
  const type = servedContentType(storedType);
  const inline = /^(image|audio|video)\//.test(type);
  return {
    'content-type': type,
    'content-disposition': `${inline ? 'inline' : 'attachment'}; filename="${safeFilename(name)}"`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    // Immutable once written: the (job, name) pair never changes content.
    'cache-control': 'private, max-age=86400',
  };
}
