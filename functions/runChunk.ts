import { type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { invocationLogger } from '../shared/log';
import { FN, type RunChunkInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Runs one chunk within its time budget; idempotent (a done chunk is not run again). */
export function runChunk(
  input: RunChunkInput,
  context: InvocationContext,
): ReturnType<ReturnType<typeof engineActivities>['runChunk']> {
  return engineActivities().runChunk(input, invocationLogger(context, input));
}

df.app.activity(FN.runChunk, { handler: runChunk });
