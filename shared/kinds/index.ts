/** The job kinds this app runs. Adding a kind: a module under shared/kinds/<kind>/, a line here, a pricing migration. */
import type { JobKind } from './types';
import { briefPipelineKind } from './briefPipeline';
import { imageGenerationKind } from './imageGeneration';
import { ragIngestionKind } from './ragIngestion';
import { recordingAnalysisKind } from './recordingAnalysis';
import { workflowKind } from './workflow';

const kinds = new Map<string, JobKind<unknown>>([workflowKind, briefPipelineKind, ragIngestionKind, imageGenerationKind, recordingAnalysisKind].map((kind) => [kind.name, kind as JobKind<unknown>]));

export function findKind(name: string): JobKind<unknown> | undefined {
  return kinds.get(name);
}

export function kindNames(): string[] {
  return [...kinds.keys()];
}
