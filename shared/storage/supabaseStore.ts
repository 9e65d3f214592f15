/**
 * Job outputs in a Supabase Storage bucket (IMAGE_STORAGE=supabase): uploaded with the service role, handed out as
 * signed URLs with the configured lifetime, so the app serves them from the same project as its data and users need no
 * key. The bucket is private and must exist (docs/deploy.md creates it).
 */
import { readFile } from 'node:fs/promises';
import type { AppConfig } from '../config';
import { NonRetriableError, RetryAfterError } from '../errors';
import type { ObjectStore } from './blobStore';
import { storageErrorStatus, supabaseStorage } from './supabaseStorage';

// Storage lists at most this many entries per call and removes at most this many names per call.
const PAGE = 1000;

export interface SupabaseStoreOptions {
  bucket: string;
  urlLifetimeMs: number;
  /** The project (SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY); the process configuration when absent. */
  project?: AppConfig['supabase'];
}

function raise(what: string, error: { message: string }): never {
  const status = storageErrorStatus(error);
  // Storage outages and throttling are worth another try; anything else (no bucket, no permission) is not.
  if (status >= 500 || status === 429 || status === 0) throw new RetryAfterError(`Supabase Storage ${what}: ${error.message}`, 2000);
  throw new NonRetriableError(`Supabase Storage ${what}: ${error.message}`);
}

export function createSupabaseStore(opts: SupabaseStoreOptions): ObjectStore {
  const bucket = () => supabaseStorage(`IMAGE_STORAGE=supabase`, opts.project).from(opts.bucket);
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
    async list(folder) {
      // Storage lists one folder at a time (entries without an id are folders): walk the folders below this one.
      const names: string[] = [];
      const folders = [folder.replace(/\/+$/, '')];
      for (let current = folders.pop(); current !== undefined; current = folders.pop()) {
        for (let offset = 0; ; offset += PAGE) {
          const { data, error } = await bucket().list(current, { limit: PAGE, offset, sortBy: { column: 'name', order: 'asc' } });
          if (error || !data) raise(`listing ${current} failed`, error ?? { message: 'no answer' });
          for (const entry of data) (entry.id === null ? folders : names).push(`${current}/${entry.name}`);
          if (data.length < PAGE) break;
        }
      }
      return names;
    },
    async remove(names) {
      // Storage answers 200 for names that no longer exist: a repeated purge is harmless.
      for (let i = 0; i < names.length; i += PAGE) {
        const { error } = await bucket().remove(names.slice(i, i + PAGE));
        if (error) raise(`deleting ${names.length} objects failed`, error);
      }
    },
  };
}
