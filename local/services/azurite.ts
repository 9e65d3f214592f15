/**
 * Azurite's queue and blob services, in this process (deep imports of its server classes), on 127.0.0.1.
 * Azurite 3.35 rejects the API versions current SDKs send unless told to skip the check.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './freePort';

export interface AzuriteService {
  connectionString: string;
  /** Service URLs for identity-based connections (`AzureWebJobsStorage__blobServiceUri` / `__queueServiceUri`). */
  blobServiceUri: string;
  queueServiceUri: string;
  queuePort: number;
  blobPort: number;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Folder for on-disk persistence; undefined keeps everything in memory. */
  dataDir?: string;
  queuePort?: number;
  blobPort?: number;
  /**
   * Serve HTTPS with this certificate (PEM files) and accept Entra-ID-shaped bearer tokens (Azurite's `--oauth basic`,
   * which needs HTTPS), as identity-based connections use on Azure. Shared-key access keeps working beside it.
   */
  tls?: { certPath: string; keyPath: string };
}

/** The well-known development storage account (documented by Microsoft; not a secret). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
}
type ServerClass = new (config: unknown) => AzuriteServer;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Azurite's constructors take many positional options
type ConfigClass = new (...args: any[]) => unknown;

function load<T>(path: string): T {
  return (require(path) as { default: T }).default;
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteService> {
  const QueueConfiguration = load<ConfigClass>('azurite/dist/src/queue/QueueConfiguration');
  const QueueServer = load<ServerClass>('azurite/dist/src/queue/QueueServer');
  const BlobConfiguration = load<ConfigClass>('azurite/dist/src/blob/BlobConfiguration');
  const BlobServer = load<ServerClass>('azurite/dist/src/blob/BlobServer');
  const memory = opts.dataDir === undefined;
  const dir = opts.dataDir ?? '';
  if (!memory) mkdirSync(dir, { recursive: true });
  const queuePort = opts.queuePort ?? (await freePort());
  const blobPort = opts.blobPort ?? (await freePort());

  // Positional arguments of QueueConfiguration/BlobConfiguration (azurite 3.35):
  // host, port, keepAliveTimeout, metadataDBPath, extentDBPath, persistencePathArray, enableAccessLog,
  // accessLogWriteStream, enableDebugLog, debugLogFilePath, loose, skipApiVersionCheck, cert, key, pwd, oauth,
  // disableProductStyleUrl, isMemoryPersistence
  const config = (Config: ConfigClass, port: number, kind: 'queue' | 'blob'): unknown =>
    new Config(
      '127.0.0.1', port, 5,
      join(dir, `__azurite_db_${kind}__.json`), join(dir, `__azurite_db_${kind}_extent__.json`),
      [{ locationId: 'Default', locationPath: join(dir, `__${kind}storage__`), maxConcurrency: 10 }],
      false, undefined, false, undefined,
      true, true, opts.tls?.certPath ?? '', opts.tls?.keyPath ?? '', '', opts.tls ? 'basic' : undefined, false, memory,
    );
  const queue = new QueueServer(config(QueueConfiguration, queuePort, 'queue'));
  const blob = new BlobServer(config(BlobConfiguration, blobPort, 'blob'));
  await queue.start();
  await blob.start();
  const scheme = opts.tls ? 'https' : 'http';
  const blobServiceUri = `${scheme}://127.0.0.1:${blobPort}/${ACCOUNT}`;
  const queueServiceUri = `${scheme}://127.0.0.1:${queuePort}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};BlobEndpoint=${blobServiceUri};QueueEndpoint=${queueServiceUri};`,
    blobServiceUri,
    queueServiceUri,
    queuePort,
    blobPort,
    async stop() {
      await queue.close();
      await blob.close();
      if (memory) {
        await queue.clean().catch(() => undefined);
        await blob.clean().catch(() => undefined);
      }
    },
  };
}
