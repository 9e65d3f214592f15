import { type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { invocationLogger } from '../shared/log';
import { FN, type JobRef } from '../shared/orchestration/contracts';
import { engineActivities } from '../shared/services';

/** Moves the job attempt to running (or reports that it should not run), plans stage 0, and hands the orchestration its limits. */
export function startJob(input: JobRef, context: InvocationContext): ReturnType<ReturnType<typeof engineActivities>['startJob']> {
  return engineActivities().startJob(input, invocationLogger(context, input));
}

df.app.activity(FN.startJob, { handler: startJob });
