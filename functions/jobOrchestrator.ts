import * as df from 'durable-functions';
import { FN } from '../shared/orchestration/contracts';
import { jobOrchestration } from '../shared/orchestration/jobOrchestration';

/** One attempt of one job, stage by stage (pure generator: shared/orchestration/jobOrchestration.ts). */
df.app.orchestration(FN.jobOrchestrator, jobOrchestration);
