/**
 * A queue trigger listener with the host's semantics (Storage Queues extension QueuesOptions): up to batchSize
 * messages fetched at once, at most batchSize + newBatchThreshold in flight, exponential back-off up to
 * maxPollingInterval while idle, a failed message becomes visible again after visibilityTimeout, and after
 * maxDequeueCount attempts it moves to `<queue>-poison`. Messages the app itself enqueues wake the listener at once,
 * as the host's shared queue watcher does.
 */
import type { DequeuedMessageItem } from '@azure/storage-queue';
import type { QueueClients } from './queueClients';
import type { RpcTypedData } from '../host/rpc';
import { WakeSignal, sleep } from '../durable/signal';
import type { HostLogger } from '../host/logger';

export interface QueueListenerOptions {
  functionName: string;
  queueName: string;
  connection?: string;
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  invoke(trigger: RpcTypedData, triggerMetadata: Record<string, RpcTypedData>): Promise<void>;
}

/** Visibility while a message is being processed; long enough for any invocation under functionTimeout. */
const PROCESSING_VISIBILITY_SECONDS = 10 * 60;

export class QueueListener {
  readonly wake = new WakeSignal();
  #running = false;
  #loop: Promise<void> | undefined;
  #inFlight = new Set<Promise<void>>();

  constructor(private readonly clients: QueueClients, private readonly opts: QueueListenerOptions, private readonly log: HostLogger) {}

  start(): void {
    this.#running = true;
    this.#loop = this.#poll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake.notifyAll();
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  async #poll(): Promise<void> {
    let idleDelay = 100;
    const maxInFlight = this.opts.batchSize + this.opts.newBatchThreshold;
    while (this.#running) {
      try {
        // Fetch a new batch only once in-flight work has dropped to the threshold, as the host does.
        if (this.#inFlight.size > this.opts.newBatchThreshold) {
          await Promise.race(this.#inFlight);
          continue;
        }
        const queue = await this.clients.queue(this.opts.queueName, this.opts.connection);
        const count = Math.min(this.opts.batchSize, maxInFlight - this.#inFlight.size);
        const received = await queue.receiveMessages({ numberOfMessages: count, visibilityTimeout: PROCESSING_VISIBILITY_SECONDS });
        if (received.receivedMessageItems.length === 0) {
          await this.wake.wait(idleDelay);
          idleDelay = Math.min(this.opts.maxPollingIntervalMs, idleDelay * 2);
          continue;
        }
        idleDelay = 100;
        for (const message of received.receivedMessageItems) {
          const task = this.#process(message).finally(() => this.#inFlight.delete(task));
          this.#inFlight.add(task);
        }
      } catch (err) {
        if (!this.#running) break;
        this.log.warn(`queue "${this.opts.queueName}" poll failed: ${(err as Error).message}`);
        await sleep(Math.min(this.opts.maxPollingIntervalMs, 1000));
      }
    }
  }

  async #process(message: DequeuedMessageItem): Promise<void> {
    const queue = await this.clients.queue(this.opts.queueName, this.opts.connection);
    try {
      const text = this.clients.decode(message.messageText);
      await this.opts.invoke({ string: text }, triggerMetadata(message, text));
      await queue.deleteMessage(message.messageId, message.popReceipt);
    } catch (err) {
      if (message.dequeueCount >= this.opts.maxDequeueCount && !this.opts.queueName.endsWith('-poison')) {
        const poison = `${this.opts.queueName}-poison`;
        this.log.warn(`message ${message.messageId} failed ${message.dequeueCount} times; moving it to "${poison}"`);
        const poisonQueue = await this.clients.queue(poison, this.opts.connection);
        // The original (still encoded) text moves as is, so the poison message decodes like the original.
        await poisonQueue.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } else {
        await queue
          .updateMessage(message.messageId, message.popReceipt, undefined, Math.round(this.opts.visibilityTimeoutMs / 1000))
          .catch((updateErr: unknown) => this.log.warn(`could not release message ${message.messageId}: ${(updateErr as Error).message}`));
      }
      if (!(err instanceof Error && err.name === 'InvocationError')) this.log.debug(`queue message failed: ${(err as Error).message}`);
    }
  }
}

/** .NET DateTimeOffset text as the host serialises it, e.g. 2022-09-01T05:06:39+00:00. */
function dotnetTime(date: Date | undefined): string {
  return (date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** Trigger metadata as the host sends it (library test fromRpcTriggerMetadata.test.ts): PascalCase keys. */
function triggerMetadata(message: DequeuedMessageItem, text: string): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = {
    QueueTrigger: { string: text },
    DequeueCount: { json: String(message.dequeueCount) },
    ExpirationTime: { json: JSON.stringify(dotnetTime(message.expiresOn)) },
    Id: { string: message.messageId },
    InsertionTime: { json: JSON.stringify(dotnetTime(message.insertedOn)) },
    NextVisibleTime: { json: JSON.stringify(dotnetTime(message.nextVisibleOn)) },
    PopReceipt: { string: message.popReceipt },
  };
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed)) {
        if (!(key in metadata)) metadata[key] = { json: JSON.stringify(value) };
      }
    }
  } catch {
    // Not JSON: no per-property metadata.
  }
  return metadata;
}
