import * as df from 'durable-functions';
import { FN, type NextChunksInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** The next window of chunks not yet done, and whether the job was asked to stop. */
export function nextChunks(input: NextChunksInput): ReturnType<ReturnType<typeof engineActivities>['nextChunks']> {
  return engineActivities().nextChunks(input);
}

df.app.activity(FN.nextChunks, { handler: nextChunks });
