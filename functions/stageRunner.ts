import * as df from 'durable-functions';
import { FN } from '../shared/orchestration/contracts';
import { stageRunnerOrchestration } from '../shared/orchestration/stageRunner';

/** One stage's chunks, P in flight, continueAsNew every K calls (pure generator: shared/orchestration/stageRunner.ts). */
df.app.orchestration(FN.stageRunner, stageRunnerOrchestration);
