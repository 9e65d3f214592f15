/**
 * Storage queue access for bindings: one QueueServiceClient per connection setting, queues created on first use
 * (as the host does for output bindings and poison queues), and the host's message encoding applied. A connection is a
 * connection string, or identity-based as on Azure: `<name>__queueServiceUri` (or `__serviceUri`, or `__accountName`)
 * with `__credential=managedidentity` and `__clientId`, the token coming from the platform's identity endpoint.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';

/** The Functions host's rules for an identity-based connection named `name`, or undefined when none is configured. */
function identityQueueService(name: string, env: NodeJS.ProcessEnv): QueueServiceClient | undefined {
  const setting = (suffix: string): string | undefined => env[`${name}__${suffix}`];
  const account = setting('accountName');
  const uri = setting('queueServiceUri') ?? setting('serviceUri') ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  if (!uri) return undefined;
  const clientId = setting('clientId');
  const credential: TokenCredential =
    setting('credential')?.toLowerCase() === 'managedidentity'
      ? new ManagedIdentityCredential(clientId ? { clientId } : {})
      : new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  return new QueueServiceClient(uri, credential);
}

export class QueueClients {
  #services = new Map<string, QueueServiceClient>();
  #ensured = new Map<string, Promise<unknown>>();

  constructor(private readonly encoding: 'base64' | 'none', private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Resolves a binding's `connection` setting name to a client: a connection string wins over identity settings. */
  service(connection = 'AzureWebJobsStorage'): QueueServiceClient {
    const name = connection || 'AzureWebJobsStorage';
    let service = this.#services.get(name);
    if (!service) {
      const value = this.env[name] ?? this.env[`AzureWebJobs${name}`];
      const identity = value ? undefined : (identityQueueService(name, this.env) ?? identityQueueService(`AzureWebJobs${name}`, this.env));
      if (!value && !identity) throw new Error(`Storage connection setting "${name}" is not set (neither a connection string nor ${name}__queueServiceUri)`);
      service = identity ?? QueueServiceClient.fromConnectionString(value!);
      this.#services.set(name, service);
    }
    return service;
  }

  async queue(queueName: string, connection?: string): Promise<QueueClient> {
    const client = this.service(connection).getQueueClient(queueName);
    const key = `${connection ?? ''}|${queueName}`;
    let ensured = this.#ensured.get(key);
    if (!ensured) {
      ensured = client.createIfNotExists().catch((err: unknown) => {
        this.#ensured.delete(key);
        throw err;
      });
      this.#ensured.set(key, ensured);
    }
    await ensured;
    return client;
  }

  encode(text: string): string {
    return this.encoding === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : text;
  }

  /** Decodes a message body; throws for text that is not valid base64 when base64 encoding is configured. */
  decode(text: string): string {
    if (this.encoding === 'none') return text;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new Error('The queue message is not valid base64 (host.json extensions.queues.messageEncoding is "base64")');
    }
    return Buffer.from(text, 'base64').toString('utf8');
  }

  async send(queueName: string, connection: string | undefined, messages: string[]): Promise<void> {
    const queue = await this.queue(queueName, connection);
    for (const message of messages) await queue.sendMessage(this.encode(message));
  }
}
