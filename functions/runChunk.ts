import * as df from 'durable-functions';
import { FN, type RunChunkInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Runs one chunk within its time budget; idempotent (a done chunk is not run again). */
export function runChunk(input: RunChunkInput): ReturnType<ReturnType<typeof engineActivities>['runChunk']> {
  return engineActivities().runChunk(input);
}

df.app.activity(FN.runChunk, { handler: runChunk });
