/**
 * Runs a chunk's nodes in topological order with at most `ctx.concurrency` model calls at once. A node starts when
 * its inputs (from earlier chunks or earlier in this chunk) are done. Finished nodes are stored as they complete, in
 * small batches, so a crash or a retry never redoes them. Past the deadline no new node starts and the chunk returns
 * `partial`; the engine schedules it again and it picks up the nodes not yet done. When a node fails, no new node
 * starts but calls already in flight finish and are stored: the provider has been asked (and bills) for them, so
 * aborting them would only make the retry ask again.
 */
import { NonRetriableError } from '../../errors';
import type { ChunkContext, ChunkOutcome, ItemResult, Usage } from '../types';
import { nodeInputs, type WorkflowNode } from './graph';

// Stored in batches: one round trip per 50 nodes keeps a 100,000-node job to ~2,000 writes.
const FLUSH_EVERY = 50;

export interface NodeRun {
  output: string;
  usage?: { requests: number; inputTokens: number; outputTokens: number };
  model?: string;
}

type Execute = (node: WorkflowNode, inputs: ReadonlyMap<string, string>) => Promise<NodeRun>;

class NotRun extends Error {}

export async function runNodes(ctx: ChunkContext, nodes: WorkflowNode[], known: Map<string, string>, execute: Execute): Promise<ChunkOutcome> {
  const pending: ItemResult[] = [];
  const usage: Required<Pick<Usage, 'requests' | 'inputTokens' | 'outputTokens'>> = { requests: 0, inputTokens: 0, outputTokens: 0 };
  let flushing = Promise.resolve();
  const flush = (): Promise<void> => {
    const batch = pending.splice(0);
    if (batch.length > 0) {
      flushing = flushing.then(() => ctx.completeItems(batch));
      // Observed here so a failed write is not an unhandled rejection; the final await still sees it.
      flushing.catch(() => undefined);
    }
    return flushing;
  };
  let slots = ctx.concurrency;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (slots > 0) {
      slots--;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else slots++;
  };

  let failure: { key: string; message: string; code?: string } | undefined;
  let retriable: Error | undefined;
  let deferred = false;
  const runs = new Map<string, Promise<string>>();
  for (const node of nodes) {
    const run = (async (): Promise<string> => {
      const inputs = new Map<string, string>();
      for (const ref of nodeInputs(node)) inputs.set(ref, known.get(ref) ?? (await runs.get(ref)!));
      await acquire();
      try {
        if (failure || retriable) throw new NotRun();
        if (Date.now() > ctx.deadline) {
          deferred = true;
          throw new NotRun();
        }
        const result = await execute(node, inputs);
        if (result.usage) {
          usage.requests += result.usage.requests;
          usage.inputTokens += result.usage.inputTokens;
          usage.outputTokens += result.usage.outputTokens;
        }
        pending.push({ key: node.id, status: 'done', output: result.output, usage: result.usage });
        if (pending.length >= FLUSH_EVERY) void flush();
        return result.output;
      } catch (err) {
        if (!(err instanceof NotRun)) {
          if (err instanceof NonRetriableError || ctx.lastAttempt) {
            failure ??= { key: node.id, message: (err as Error).message, code: err instanceof NonRetriableError ? 'non_retriable' : 'retries_exhausted' };
            pending.push({ key: node.id, status: 'failed', error: { message: (err as Error).message } });
          } else {
            retriable ??= err as Error;
          }
        }
        throw new NotRun();
      } finally {
        release();
      }
    })();
    run.catch(() => undefined);
    runs.set(node.id, run);
  }
  await Promise.allSettled(runs.values());
  await flush();
  if (usage.requests > 0) await ctx.addUsage(usage);
  if (failure) return { status: 'failed', error: failure };
  if (retriable) throw retriable;
  if (deferred) return { status: 'partial', cursor: null };
  return { status: 'done' };
}
