/**
 * Downloads a recording to a file as a stream, never holding it in memory, and stops as soon as it is known to be
 * larger than the cap — from Content-Length before reading, or from the bytes read when the server does not say.
 * Unless private addresses are allowed, every hop of the request (redirects followed here, at most five) must go to a
 * public address (shared/media/publicAddress.ts).
 */
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NonRetriableError, RetryAfterError } from '../errors';
import { assertPublicUrl } from './publicAddress';

const MAX_REDIRECTS = 5;

export interface DownloadOptions {
  maxBytes: number;
  /** Fetch loopback and private addresses too (trusted sources only: local development, signed Storage URLs). */
  allowPrivate: boolean;
}

async function fetchChecked(url: string, allowPrivate: boolean): Promise<Response> {
  let target = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new NonRetriableError(`the recording's URL must be http(s), not ${target.protocol}`);
    if (!allowPrivate) await assertPublicUrl(target);
    let response: Response;
    try {
      response = await fetch(target, { redirect: 'manual' });
    } catch (err) {
      throw new RetryAfterError(`the recording could not be fetched: ${(err as Error).message}`, 2000);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    target = new URL(location, target);
  }
  throw new NonRetriableError(`the recording's URL redirects more than ${MAX_REDIRECTS} times`);
}

export async function downloadToFile(url: string, file: string, opts: DownloadOptions): Promise<number> {
  const { maxBytes } = opts;
  const response = await fetchChecked(url, opts.allowPrivate);
  if (response.status >= 500 || response.status === 429) throw new RetryAfterError(`the recording's server answered ${response.status}`, 2000);
  if (!response.ok || !response.body) throw new NonRetriableError(`the recording could not be downloaded: the server answered ${response.status}`);
  const tooLarge = (): Error => new NonRetriableError(`the recording is larger than ${Math.round(maxBytes / 1024 / 1024)} MB (MAX_FILE_SIZE_MB)`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel();
    throw tooLarge();
  }
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? tooLarge() : null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), counter, createWriteStream(file));
  return bytes;
}
