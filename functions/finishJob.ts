import { type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { invocationLogger } from '../shared/log';
import { FN, type FinishJobInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Ends the attempt: completed with the result summary, or failed/cancelled with the refund. */
export function finishJob(
  input: FinishJobInput,
  context: InvocationContext,
): ReturnType<ReturnType<typeof engineActivities>['finishJob']> {
  return engineActivities().finishJob(input, invocationLogger(context, input));
}

df.app.activity(FN.finishJob, { handler: finishJob });
