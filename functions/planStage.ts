import { type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { invocationLogger } from '../shared/log';
import { FN, type PlanStageInput } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Plans one stage of the job into chunks (and items) in Postgres, once; reports an invalid input instead of throwing; with `completeIfDone`, completes a job that has no stage left. */
export function planStage(
  input: PlanStageInput,
  context: InvocationContext,
): ReturnType<ReturnType<typeof engineActivities>['planStage']> {
  return engineActivities().planStage(input, invocationLogger(context, input));
}

df.app.activity(FN.planStage, { handler: planStage });
