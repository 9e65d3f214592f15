/**
 * Storage queue access for bindings: one QueueServiceClient per connection setting, queues created on first use
 * (as the host does for output bindings and poison queues), and the host's message encoding applied.
 */
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';

export class QueueClients {
  #services = new Map<string, QueueServiceClient>();
  #ensured = new Map<string, Promise<unknown>>();

  constructor(private readonly encoding: 'base64' | 'none', private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Resolves a binding's `connection` setting name to a client (connection strings only; see docs/local-host.md). */
  service(connection = 'AzureWebJobsStorage'): QueueServiceClient {
    const name = connection || 'AzureWebJobsStorage';
    let service = this.#services.get(name);
    if (!service) {
      const value = this.env[name] ?? this.env[`AzureWebJobs${name}`];
      if (!value) throw new Error(`Storage connection setting "${name}" is not set`);
      service = QueueServiceClient.fromConnectionString(value);
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
