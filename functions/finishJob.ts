import * as df from 'durable-functions';
import { FN, type FinishJobInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Ends the attempt: completed with the result summary, or failed/cancelled with the refund. */
export function finishJob(input: FinishJobInput): ReturnType<ReturnType<typeof engineActivities>['finishJob']> {
  return engineActivities().finishJob(input);
}

df.app.activity(FN.finishJob, { handler: finishJob });
