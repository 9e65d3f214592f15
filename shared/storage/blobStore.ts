/**
 * Where jobs put the files they produce (generated images): a Blob Storage container on the Function App's storage
 * account (Azurite locally), read back through a read-only SAS URL with a configurable lifetime, so the app can fetch a
 * file without any key.
 */
import { BlobSASPermissions, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { ConfigError } from '../config';

export interface StoredObject {
  url: string;
  contentType: string;
  bytes: number;
}

export interface ObjectStore {
  /** Writes (or overwrites: names are deterministic, so a re-run writes the same object) and returns a fetchable URL. */
  put(name: string, data: Buffer, contentType: string): Promise<StoredObject>;
  /** Uploads a file from disk as a stream (large intermediates: it never sits in memory). */
  putFile(name: string, path: string, contentType: string): Promise<void>;
  /** Reads an object back (callers keep objects small enough, e.g. ≤ 25 MB audio segments). */
  get(name: string): Promise<Buffer>;
}

export interface BlobStoreOptions {
  connectionString?: string;
  container: string;
  urlLifetimeMs: number;
}

export function createBlobStore(opts: BlobStoreOptions): ObjectStore {
  if (!opts.connectionString) {
    // A SAS signed with the account key needs a connection string; identity-based storage would need a user
    // delegation key (not implemented yet).
    throw new ConfigError('Setting AzureWebJobsStorage must be a connection string with an account key to store job files');
  }
  const service = BlobServiceClient.fromConnectionString(opts.connectionString);
  let container: Promise<ContainerClient> | undefined;
  const ready = (): Promise<ContainerClient> =>
    (container ??= (async () => {
      const client = service.getContainerClient(opts.container);
      // Private: files are reachable only through the SAS URLs handed out with results.
      await client.createIfNotExists();
      return client;
    })().catch((err: unknown) => {
      container = undefined;
      throw err;
    }));
  return {
    async put(name, data, contentType) {
      const blob = (await ready()).getBlockBlobClient(name);
      await blob.uploadData(data, { blobHTTPHeaders: { blobContentType: contentType } });
      const url = await blob.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + opts.urlLifetimeMs) });
      return { url, contentType, bytes: data.length };
    },
    async putFile(name, path, contentType) {
      await (await ready()).getBlockBlobClient(name).uploadFile(path, { blobHTTPHeaders: { blobContentType: contentType } });
    },
    async get(name) {
      return (await ready()).getBlockBlobClient(name).downloadToBuffer();
    },
  };
}
