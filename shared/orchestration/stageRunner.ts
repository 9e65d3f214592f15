/**
 * stageRunner: runs one stage's chunks in rounds of at most P, honouring each chunk's `after` (it starts once every
 * chunk up to that index is done). After K chunk calls it drains and continues as new from the first chunk not yet
 * done, so no generation's history grows past a fixed bound, whatever the number of chunks. A failed chunk or a
 * cancel request stops new scheduling; chunks in flight finish first, then the outcome goes to jobOrchestrator.
 */
import type * as df from 'durable-functions';
import { boundJobError, FN, type JobError, type NextChunksInput, type NextChunksResult, type RunChunkInput, type RunChunkResult, type StageOutcome, type StageRunnerInput } from './contracts';
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
  let calls = 0;
  let stopping: 'failed' | 'cancelled' | undefined;
  let failure: JobError | undefined;

  // Rounds of at most P chunks awaited together with Task.all. Not a sliding window of Task.any: a task may be
  // yielded once only — yielding it again inside a later Task.any re-emits its action without a new sequence id,
  // which the Durable extension mis-numbers (durable-protocol.md §4.4).
  while (!stopping && calls < limits.perGeneration) {
    const round: Chunk[] = [];
    for (let i = 0; i < waiting.length && round.length < limits.maxInFlight && calls + round.length < limits.perGeneration; ) {
      const chunk = waiting[i]!;
      // Every chunk below the lowest one still outstanding is done (earlier generations drained completely).
      const lowestOutstanding = Math.min(waiting[0]?.index ?? Infinity, ...round.map((c) => c.index));
      if (chunk.after >= lowestOutstanding) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      round.push(chunk);
    }
    if (round.length === 0) break;
    calls += round.length;
    const tasks = round.map((chunk) => chunkCall(context, input, chunk.index));
    let results: RunChunkResult[];
    try {
      results = (yield context.df.Task.all(tasks)) as RunChunkResult[];
    } catch (err) {
      stopping = 'failed';
      failure = retriesExhausted(input, err);
      break;
    }
    let pauseMs = 0;
    results.forEach((result, n) => {
      const chunk = round[n]!;
      if (result.status === 'partial' || result.status === 'wait') waiting.splice(insertionPoint(waiting, chunk.index), 0, { index: chunk.index, after: -1 });
      if (result.status === 'wait') pauseMs = Math.max(pauseMs, result.retryAfterMs ?? 0);
      if (result.status === 'failed') {
        stopping = 'failed';
        failure ??= result.error;
      }
      if (result.stop || result.status === 'stale') stopping ??= 'cancelled';
    });
    // A long provider back-off is a durable timer here, not an activity sleeping on a worker.
    if (pauseMs > 0 && !stopping) yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + pauseMs));
  }

  if (stopping === 'failed') return { status: 'failed', error: failure, generations: input.generation + 1 };
  if (stopping === 'cancelled') return { status: 'cancelled', generations: input.generation + 1 };
  // Drained: continue from the first chunk not done (a partial one left over, or the next window).
  const next = waiting[0]?.index ?? (window.more ? window.chunks[window.chunks.length - 1]![0] + 1 : undefined);
  if (next === undefined) return { status: 'done', generations: input.generation + 1 };
  context.df.continueAsNew({ ...input, from: Math.min(next, ...waiting.map((c) => c.index)), generation: input.generation + 1 } satisfies StageRunnerInput);
  return undefined;
}

function chunkCall(context: df.OrchestrationContext, input: StageRunnerInput, index: number): df.Task {
  return context.df.callActivityWithRetry(FN.runChunk, chunkRetry(input.limits.maxAttempts), {
    jobId: input.jobId,
    attempt: input.attempt,
    stage: input.stage,
    stageName: input.stageName,
    index,
    maxAttempts: input.limits.maxAttempts,
  } satisfies RunChunkInput);
}

/** Retries exhausted without the chunk recording its own failure (e.g. the worker kept crashing). */
function retriesExhausted(input: StageRunnerInput, err: unknown): JobError {
  // Durable's failure text can carry a whole stack or provider answer: only a bounded part travels on.
  return boundJobError({ message: `a chunk of stage "${input.stageName}" failed after retries: ${(err as Error).message}`, code: 'chunk_failed' });
}

// A one-chunk stage that keeps answering `partial` (a long recording step, provider waits) hands over to a stageRunner
// after this many calls, so the job orchestration's own history stays a handful of events per stage.
const INLINE_CALLS = 8;

/**
 * A stage of exactly one chunk, run by the job's orchestration itself: most jobs are one chunk a stage, and a
 * sub-orchestration (its start, its window read, its episodes, its report back) costs more than the chunk. The rules
 * are the stage runner's: failed wins, then a stop, then done; `partial` runs again, `wait` after a durable timer.
 */
export function* runOneChunkStage(context: df.OrchestrationContext, input: StageRunnerInput, runnerId: string): Generator<df.Task, StageOutcome, unknown> {
  for (let call = 0; call < INLINE_CALLS; call++) {
    let result: RunChunkResult;
    try {
      result = (yield chunkCall(context, input, 0)) as RunChunkResult;
    } catch (err) {
      return { status: 'failed', error: retriesExhausted(input, err), generations: 0 };
    }
    if (result.status === 'failed') return { status: 'failed', error: result.error, generations: 0 };
    if (result.stop || result.status === 'stale') return { status: 'cancelled', generations: 0 };
    if (result.status === 'done') return { status: 'done', generations: 0 };
    if (result.status === 'wait' && (result.retryAfterMs ?? 0) > 0) yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + result.retryAfterMs!));
  }
  return (yield context.df.callSubOrchestrator(FN.stageRunner, input, runnerId)) as StageOutcome;
}

function insertionPoint(waiting: Chunk[], index: number): number {
  const at = waiting.findIndex((c) => c.index > index);
  return at === -1 ? waiting.length : at;
}
