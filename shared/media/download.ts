/**
 * Downloads a recording to a file as a stream, never holding it in memory, and stops as soon as it is known to be
 * larger than the cap — from Content-Length before reading, or from the bytes read when the server does not say.
 */
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NonRetriableError, RetryAfterError } from '../errors';

export async function downloadToFile(url: string, file: string, maxBytes: number): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new RetryAfterError(`the recording could not be fetched: ${(err as Error).message}`, 2000);
  }
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
