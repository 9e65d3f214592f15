/**
 * jobOrchestrator: one attempt of one job, stage by stage. A stage of many chunks runs in a stageRunner
 * sub-orchestration and a stage of one chunk runs here (runOneChunkStage), so this history holds a handful of events
 * a stage whatever the job's size. Every ending goes through finishJob's code, which owns the SQL transition and the
 * refund (a completion runs it inside the last planStage, which finds no stage left); an unexpected error still ends in
 * a failed, refunded job.
 */
import type * as df from 'durable-functions';
import { boundJobError, FN, jobInstanceId, type FinishJobInput, type JobError, type JobRef, type PlanStageResult, type StageOutcome, type StageRunnerInput, type StartJobResult } from './contracts';
import { activityRetry } from './retry';
import { runOneChunkStage } from './stageRunner';

// A kind has a few stages (brief_pipeline: 4); the cap stops a planning bug from looping forever.
const MAX_STAGES = 32;

export function* jobOrchestration(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
  const ref = context.df.getInput<JobRef>();
  const started = (yield context.df.callActivityWithRetry(FN.startJob, activityRetry(), ref)) as StartJobResult;
  if (!started.run) return { status: started.status, ran: false };

  const finish = (outcome: FinishJobInput['outcome'], error?: JobError): df.Task =>
    context.df.callActivityWithRetry(FN.finishJob, activityRetry(), { ...ref, outcome, error } satisfies FinishJobInput);

  try {
    for (let stage = 0; stage < MAX_STAGES; stage++) {
      context.df.setCustomStatus({ stage });
      // Stage 0 usually comes planned with the start; a later planStage completes the job itself when no stage is left.
      const plan =
        stage === 0 && started.firstStage !== undefined
          ? started.firstStage
          : ((yield context.df.callActivityWithRetry(FN.planStage, activityRetry(), { ...ref, stage, completeIfDone: true })) as PlanStageResult);
      if (plan === null) return yield finish('completed');
      if ('finished' in plan) return { status: plan.finished };
      if ('invalid' in plan) return yield finish('failed', boundJobError(plan.invalid));
      const runner: StageRunnerInput = { ...ref, stage, stageName: plan.name, from: 0, generation: 0, limits: started.limits };
      const runnerId = `${jobInstanceId(ref)}-s${stage}`;
      const outcome: StageOutcome =
        plan.chunks === 1 ? yield* runOneChunkStage(context, runner, runnerId) : ((yield context.df.callSubOrchestrator(FN.stageRunner, runner, runnerId)) as StageOutcome);
      if (outcome.status === 'cancelled') return yield finish('cancelled');
      if (outcome.status === 'failed') return yield finish('failed', outcome.error);
    }
    return yield finish('failed', { message: `the job planned more than ${MAX_STAGES} stages`, code: 'too_many_stages' });
  } catch (err) {
    return yield finish('failed', boundJobError({ message: (err as Error).message, code: 'orchestration_error' }));
  }
}
