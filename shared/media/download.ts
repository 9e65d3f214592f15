/**
 * Downloads a recording to a file as a stream, never holding it in memory, and stops as soon as it is known to be
 * larger than the cap — from Content-Length before reading, or from the bytes read when the server does not say.
 * Unless private addresses are allowed, every hop of the request (redirects followed here, at most five) must go to a
 * public address (shared/media/publicAddress.ts).
 */
import { createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NonRetriableError, RetryAfterError } from '../errors';
import { assertPublicUrl, PrivateAddressError, publicOnlyLookup, type Resolver } from './publicAddress';

const MAX_REDIRECTS = 5;

export interface DownloadOptions {
  maxBytes: number;
  /** Fetch loopback and private addresses too (trusted sources only: local development, signed Storage URLs). */
  allowPrivate: boolean;
  /** How host names resolve (the system's by default). */
  resolve?: Resolver;
}

function get(target: URL, opts: DownloadOptions): Promise<IncomingMessage> {
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // The connection resolves the name through the same check, so it connects only to an address that passed it.
    const req = request(target, { method: 'GET', ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup(opts.resolve) }) }, resolve);
    req.on('error', (err) =>
      reject(err instanceof PrivateAddressError ? err : new RetryAfterError(`the recording could not be fetched: ${err.message}`, 2000)),
    );
    req.end();
  });
}

async function fetchChecked(url: string, opts: DownloadOptions): Promise<IncomingMessage> {
  let target = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new NonRetriableError(`the recording's URL must be http(s), not ${target.protocol}`);
    // Checked before connecting too, for a clear error (a name that does not exist is not worth retrying).
    if (!opts.allowPrivate) await assertPublicUrl(target, opts.resolve);
    const response = await get(target, opts);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status >= 400 || !location) return response;
    response.resume();
    target = new URL(location, target);
  }
  throw new NonRetriableError(`the recording's URL redirects more than ${MAX_REDIRECTS} times`);
}

export async function downloadToFile(url: string, file: string, opts: DownloadOptions): Promise<number> {
  const { maxBytes } = opts;
  const response = await fetchChecked(url, opts);
  const status = response.statusCode ?? 0;
  const refuse = (err: Error): never => {
    response.destroy();
    throw err;
  };
  if (status >= 500 || status === 429) refuse(new RetryAfterError(`the recording's server answered ${status}`, 2000));
  if (status < 200 || status >= 300) refuse(new NonRetriableError(`the recording could not be downloaded: the server answered ${status}`));
  const tooLarge = (): Error => new NonRetriableError(`the recording is larger than ${Math.round(maxBytes / 1024 / 1024)} MB (MAX_FILE_SIZE_MB)`);
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) refuse(tooLarge());
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? tooLarge() : null, chunk);
    },
  });
  try {
    await pipeline(response, counter, createWriteStream(file));
  } catch (err) {
    if (err instanceof NonRetriableError) throw err;
    throw new RetryAfterError(`the recording's download broke off: ${(err as Error).message}`, 2000);
  }
  return bytes;
}
