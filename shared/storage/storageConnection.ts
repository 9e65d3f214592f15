/**
 * The Function App's storage account (AzureWebJobsStorage) as the app's own code reaches it: a connection string with
 * an account key, or an identity-based connection — the `AzureWebJobsStorage__*` settings the Functions host reads for
 * its triggers (service URIs or the account name, `__credential=managedidentity`, `__clientId` for a user-assigned
 * identity). Both give the same clients, so blob files, queue depth and the health check work either way; only how a
 * read-only URL is signed differs (account key vs user delegation key, blobStore.ts).
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { QueueServiceClient, type StoragePipelineOptions as QueuePipelineOptions } from '@azure/storage-queue';
import { ConfigError } from '../config';

export interface StorageIdentity {
  blobServiceUri?: string;
  queueServiceUri?: string;
  /** `managedidentity`: the platform's managed identity only; absent: DefaultAzureCredential's chain. */
  credential?: 'managedidentity';
  /** The user-assigned identity's client id. */
  clientId?: string;
}

export type StorageConnection = { connectionString: string } | { identity: StorageIdentity };

// One credential a process: it caches its tokens, so every client built from it shares them.
const credentials = new Map<string, TokenCredential>();

function credentialFor(identity: StorageIdentity): TokenCredential {
  const key = `${identity.credential ?? 'default'}|${identity.clientId ?? ''}`;
  let credential = credentials.get(key);
  if (!credential) {
    credential =
      identity.credential === 'managedidentity'
        ? new ManagedIdentityCredential(identity.clientId ? { clientId: identity.clientId } : {})
        : new DefaultAzureCredential(identity.clientId ? { managedIdentityClientId: identity.clientId } : {});
    credentials.set(key, credential);
  }
  return credential;
}

export function blobServiceClient(connection: StorageConnection, options?: StoragePipelineOptions): BlobServiceClient {
  if ('connectionString' in connection) return BlobServiceClient.fromConnectionString(connection.connectionString, options);
  const uri = connection.identity.blobServiceUri;
  if (!uri) throw new ConfigError('Setting AzureWebJobsStorage__blobServiceUri (or AzureWebJobsStorage__accountName) is needed to store job files');
  return new BlobServiceClient(uri, credentialFor(connection.identity), options);
}

export function queueServiceClient(connection: StorageConnection, options?: QueuePipelineOptions): QueueServiceClient {
  if ('connectionString' in connection) return QueueServiceClient.fromConnectionString(connection.connectionString, options);
  const uri = connection.identity.queueServiceUri;
  if (!uri) throw new ConfigError('Setting AzureWebJobsStorage__queueServiceUri (or AzureWebJobsStorage__accountName) is not set');
  return new QueueServiceClient(uri, credentialFor(connection.identity), options);
}
