/**
 * Where jobs put the files they produce (generated images): a Blob Storage container on the Function App's storage
 * account (Azurite locally), read back through a read-only SAS URL with a configurable lifetime, so the app can fetch a
 * file without any key. The URL is signed with the account key or, on identity-based storage, a user delegation key.
 */
import { BlobSASPermissions, generateBlobSASQueryParameters, type BlobServiceClient, type BlockBlobClient, type ContainerClient, type UserDelegationKey } from '@azure/storage-blob';
import { ConfigError } from '../config';
import { blobServiceClient, type StorageConnection } from './storageConnection';

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
  /** Names of every object under `folder` (a job's files are under its id), at any depth. */
  list(folder: string): Promise<string[]>;
  /** Deletes objects; one already gone is not an error (a purge may be repeated after a failure). */
  remove(names: string[]): Promise<void>;
}

export interface BlobStoreOptions {
  connection?: StorageConnection;
  container: string;
  urlLifetimeMs: number;
}

// Azure's limit for a user delegation key, and so for every URL signed with one (config.ts keeps IMAGE_URL_TTL_HOURS
// under it when storage is identity-based).
const USER_DELEGATION_MAX_MS = 7 * 24 * 3_600_000;
// A key is reused this long; a URL signed with it then lives until the key expires at the latest.
const USER_DELEGATION_REUSE_MS = 3_600_000;
// A service version Azure accepts and Azurite 3.35 verifies: the SDK's newer default (2026-04-06) signs a string
// Azurite does not know yet, and a SAS of an older version stays valid on Azure.
const USER_DELEGATION_SAS_VERSION = '2025-07-05';
// Clock skew between this instance and Storage: URLs are valid from a little before now.
const SKEW_MS = 5 * 60_000;
// Deletes in flight at once: a recording leaves dozens of segments, a purge hundreds of jobs' worth.
const DELETE_PARALLEL = 8;

type Signer = (blob: BlockBlobClient) => Promise<string>;

/** Read-only URLs signed with the account key (connection string). */
function accountKeySigner(lifetimeMs: number): Signer {
  return (blob) => blob.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + lifetimeMs) });
}

/**
 * Read-only URLs signed with a user delegation key (identity-based storage: no account key exists). The key is asked
 * for with the managed identity (Storage Blob Data Owner or Contributor allows it) and reused for an hour.
 */
function userDelegationSigner(service: BlobServiceClient, lifetimeMs: number): Signer {
  let current: { key: Promise<UserDelegationKey>; fetchedAt: number; expiresAt: number } | undefined;
  const key = (): { key: Promise<UserDelegationKey>; expiresAt: number } => {
    const now = Date.now();
    if (!current || now - current.fetchedAt > USER_DELEGATION_REUSE_MS) {
      const expiresAt = now + USER_DELEGATION_MAX_MS - SKEW_MS;
      const fetched = service.getUserDelegationKey(new Date(now - SKEW_MS), new Date(expiresAt));
      const entry = { key: fetched, fetchedAt: now, expiresAt };
      current = entry;
      // A failed fetch is not cached: the next URL asks again.
      fetched.catch(() => {
        if (current === entry) current = undefined;
      });
    }
    return current;
  };
  return async (blob) => {
    const { key: pending, expiresAt } = key();
    const delegation = await pending;
    const now = Date.now();
    const sas = generateBlobSASQueryParameters(
      {
        containerName: blob.containerName,
        blobName: blob.name,
        permissions: BlobSASPermissions.parse('r'),
        startsOn: new Date(now - SKEW_MS),
        expiresOn: new Date(Math.min(now + lifetimeMs, expiresAt)),
        version: USER_DELEGATION_SAS_VERSION,
      },
      delegation,
      blob.accountName,
    );
    return `${blob.url}?${sas.toString()}`;
  };
}

export function createBlobStore(opts: BlobStoreOptions): ObjectStore {
  if (!opts.connection) throw new ConfigError('Setting AzureWebJobsStorage (or its identity-based AzureWebJobsStorage__* settings) is needed to store job files');
  const service = blobServiceClient(opts.connection);
  const sign = 'connectionString' in opts.connection ? accountKeySigner(opts.urlLifetimeMs) : userDelegationSigner(service, opts.urlLifetimeMs);
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
      return { url: await sign(blob), contentType, bytes: data.length };
    },
    async putFile(name, path, contentType) {
      await (await ready()).getBlockBlobClient(name).uploadFile(path, { blobHTTPHeaders: { blobContentType: contentType } });
    },
    async get(name) {
      return (await ready()).getBlockBlobClient(name).downloadToBuffer();
    },
    async list(folder) {
      const names: string[] = [];
      // The trailing slash: job `ab…` must not match the files of job `ab…c`.
      for await (const blob of (await ready()).listBlobsFlat({ prefix: `${folder.replace(/\/+$/, '')}/` })) names.push(blob.name);
      return names;
    },
    async remove(names) {
      const client = await ready();
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(DELETE_PARALLEL, names.length) }, async () => {
          while (next < names.length) await client.getBlockBlobClient(names[next++]!).deleteIfExists({ deleteSnapshots: 'include' });
        }),
      );
    },
  };
}
