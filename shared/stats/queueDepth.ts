/**
 * Approximate message counts of the jobs queue and its poison queue, read from Azure Storage (the same account the
 * queue trigger uses). A queue that does not exist yet holds no messages: the host creates `<name>-poison` only when
 * the first message is poisoned.
 */
import { queueServiceClient, type StorageConnection } from '../storage/storageConnection';

/** How deep a queue is now, or null with the reason when it cannot be read. */
export interface QueueDepth {
  depth: number | null;
  error?: string;
}

export type QueueDepthReader = (queueName: string) => Promise<QueueDepth>;

export function createQueueDepthReader(storage: StorageConnection | undefined): QueueDepthReader {
  if (!storage) return () => Promise.resolve({ depth: null, error: 'AzureWebJobsStorage is not set' });
  // One short try: stats are polled every few seconds, a stale answer is worse than a null one.
  let service: ReturnType<typeof queueServiceClient>;
  try {
    service = queueServiceClient(storage, { retryOptions: { maxTries: 1, tryTimeoutInMs: 4000 } });
  } catch (err) {
    return () => Promise.resolve({ depth: null, error: (err as Error).message });
  }
  return async (queueName) => {
    try {
      const props = await service.getQueueClient(queueName).getProperties();
      return { depth: props.approximateMessagesCount ?? 0 };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { depth: 0 };
      return { depth: null, error: `queue ${queueName}: ${(err as Error).message.split('\n')[0]}` };
    }
  };
}
