/**
 * Job outputs in a Supabase Storage bucket (IMAGE_STORAGE=supabase): uploaded with the service role, handed out as
 * signed URLs with the configured lifetime, so the app serves them from the same project as its data and users need no
 * key. The bucket is private and must exist (docs/deploy.md creates it).
 */
import { readFile } from 'node:fs/promises';
import { NonRetriableError, RetryAfterError } from '../errors';
import type { ObjectStore } from './blobStore';
import { storageErrorStatus, supabaseStorage } from './supabaseStorage';

export interface SupabaseStoreOptions {
  bucket: string;
  urlLifetimeMs: number;
}

function raise(what: string, error: { message: string }): never {
  const status = storageErrorStatus(error);
  // Storage outages and throttling are worth another try; anything else (no bucket, no permission) is not.
  if (status >= 500 || status === 429 || status === 0) throw new RetryAfterError(`Supabase Storage ${what}: ${error.message}`, 2000);
  throw new NonRetriableError(`Supabase Storage ${what}: ${error.message}`);
}

export function createSupabaseStore(opts: SupabaseStoreOptions): ObjectStore {
  const bucket = () => supabaseStorage(`IMAGE_STORAGE=supabase`).from(opts.bucket);
  const upload = async (name: string, data: Buffer, contentType: string): Promise<void> => {
    // upsert: names are deterministic, so a re-run of the same chunk overwrites instead of failing on a duplicate.
    const { error } = await bucket().upload(name, data, { contentType, upsert: true });
    if (error) raise(`upload of ${name} failed`, error);
  };
  return {
    async put(name, data, contentType) {
      await upload(name, data, contentType);
      const { data: signed, error } = await bucket().createSignedUrl(name, Math.max(1, Math.round(opts.urlLifetimeMs / 1000)));
      if (error || !signed?.signedUrl) raise(`signing ${name} failed`, error ?? { message: 'no URL returned' });
      return { url: signed.signedUrl, contentType, bytes: data.length };
    },
    async putFile(name, path, contentType) {
      // Outputs are small (images); large intermediates go to blob storage, never here.
      await upload(name, await readFile(path), contentType);
    },
    async get(name) {
      const { data, error } = await bucket().download(name);
      if (error || !data) raise(`download of ${name} failed`, error ?? { message: 'no body' });
      return Buffer.from(await data.arrayBuffer());
    },
  };
}
