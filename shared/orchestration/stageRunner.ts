/**
 * stageRunner: runs one stage's chunks with at most P in flight, honouring each chunk's `after` (it starts once every
 * chunk up to that index is done). After K chunk calls it drains and continues as new from the first chunk not yet
 * done, so no generation's history grows past a fixed bound, whatever the number of chunks. A failed chunk or a
 * cancel request stops new scheduling; chunks in flight finish first, then the outcome goes to jobOrchestrator.
 */
import type * as df from 'durable-functions';
import { FN, type JobError, type NextChunksInput, type NextChunksResult, type RunChunkInput, type RunChunkResult, type StageOutcome, type StageRunnerInput } from './contracts';
import { activityRetry, chunkRetry } from './retry';

interface Chunk {
  index: number;
  after: number;
}

export function* stageRunnerOrchestration(context: df.OrchestrationContext): Generator<df.Task, StageOutcome | undefined, unknown> {
  const input = context.df.getInput<StageRunnerInput>();
  const { limits } = input;
  const window = (yield context.df.callActivityWithRetry(FN.nextChunks, activityRetry(), {
    jobId: input.jobId,
    attempt: input.attempt,
    stage: input.stage,
    from: input.from,
    limit: limits.perGeneration,
  } satisfies NextChunksInput)) as NextChunksResult;
  if (window.stop) return { status: 'cancelled', generations: input.generation + 1 };
  if (window.chunks.length === 0) return { status: 'done', generations: input.generation + 1 };

  const waiting: Chunk[] = window.chunks.map(([index, after]) => ({ index, after }));
  const running = new Map<number, df.Task>();
  let calls = 0;
  let stopping: 'failed' | 'cancelled' | undefined;
  let failure: JobError | undefined;
  // Every chunk below the lowest one still outstanding is done (earlier generations drained completely).
  const lowestOutstanding = (): number => Math.min(waiting[0]?.index ?? Infinity, ...running.keys());

  for (;;) {
    if (!stopping) {
      for (let i = 0; i < waiting.length && running.size < limits.maxInFlight && calls < limits.perGeneration; ) {
        const chunk = waiting[i]!;
        if (chunk.after >= lowestOutstanding()) {
          i++;
          continue;
        }
        waiting.splice(i, 1);
        calls++;
        const call: RunChunkInput = { jobId: input.jobId, attempt: input.attempt, stage: input.stage, stageName: input.stageName, index: chunk.index, maxAttempts: limits.maxAttempts };
        running.set(chunk.index, context.df.callActivityWithRetry(FN.runChunk, chunkRetry(limits.maxAttempts), call));
      }
    }
    if (running.size === 0) break;
    const winner = (yield context.df.Task.any([...running.values()])) as df.Task;
    const index = [...running.entries()].find(([, task]) => task === winner)![0];
    running.delete(index);
    if (winner.isFaulted) {
      stopping = 'failed';
      failure ??= { message: `chunk ${index} of stage "${input.stageName}" failed after retries`, code: 'chunk_failed' };
      continue;
    }
    const result = winner.result as RunChunkResult;
    if (result.status === 'partial') waiting.splice(insertionPoint(waiting, index), 0, { index, after: -1 });
    if (result.status === 'failed') {
      stopping = 'failed';
      failure ??= result.error;
    }
    if (result.stop || result.status === 'stale') stopping ??= 'cancelled';
  }

  if (stopping === 'failed') return { status: 'failed', error: failure, generations: input.generation + 1 };
  if (stopping === 'cancelled') return { status: 'cancelled', generations: input.generation + 1 };
  // Drained: continue from the first chunk not done (a partial one left over, or the next window).
  const next = waiting[0]?.index ?? (window.more ? window.chunks[window.chunks.length - 1]![0] + 1 : undefined);
  if (next === undefined) return { status: 'done', generations: input.generation + 1 };
  context.df.continueAsNew({ ...input, from: Math.min(next, ...waiting.map((c) => c.index)), generation: input.generation + 1 } satisfies StageRunnerInput);
  return undefined;
}

function insertionPoint(waiting: Chunk[], index: number): number {
  const at = waiting.findIndex((c) => c.index > index);
  return at === -1 ? waiting.length : at;
}
