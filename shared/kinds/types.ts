/**
 * The contract between the generic job engine and a job kind (ARCHITECTURE §3). The engine schedules, retries,
 * checkpoints and accounts; a kind only validates, plans stages into chunks and does the work of one chunk.
 */
import type { z } from 'zod';
import type { AiServices } from '../ai/types';
import type { Queryable } from '../db';
import type { Logger } from '../log';
import type { ObjectStore } from '../storage/blobStore';

/** A job as the engine sees it. */
export interface JobRecord {
  id: string;
  userId: string;
  kind: string;
  input: unknown;
  attempt: number;
}

/** One chunk of a stage to be written at planning time. */
export interface PlannedChunk {
  input: unknown;
  /** The chunk waits until every chunk of the stage with an index <= after is done (-1 or absent: no wait). */
  after?: number;
  /** Billable units the chunk itself completes (kinds that account per item report through items instead). */
  units?: number;
}

/** One per-item result row planned up front (e.g. a workflow node), paged by the results endpoint. */
export interface PlannedItem {
  key: string;
  seq: number;
  input?: unknown;
  units?: number;
}

export interface StagePlan {
  name: string;
  chunks: PlannedChunk[];
  items?: PlannedItem[];
  /** Items this stage contributes to progress (defaults to items.length, else the chunk count). */
  progressItems?: number;
}

/** What the engine hands a kind when it plans a stage. */
export interface PlanContext {
  db: Queryable;
  log: Logger;
  /** The AI services, for their limits (e.g. embedding batch caps); planning makes no provider calls. */
  ai: AiServices;
  /** Index of the stage to plan (0 first). */
  stage: number;
  /** Outputs of the previous stage's chunks in index order (empty for stage 0). */
  previousOutputs(): Promise<unknown[]>;
}

export interface ChunkRecord {
  stage: number;
  index: number;
  input: unknown;
  cursor: unknown;
}

/** Result of one item of a chunk (stored idempotently by the engine). */
export interface ItemResult {
  key: string;
  status: 'done' | 'failed';
  output?: unknown;
  error?: { message: string; code?: string };
  usage?: Usage;
}

/** Provider usage, summed per job. */
export type Usage = Partial<Record<'requests' | 'inputTokens' | 'outputTokens' | 'images' | 'audioSeconds', number>>;

export interface ChunkContext {
  db: Queryable;
  ai: AiServices;
  log: Logger;
  job: JobRecord;
  /** Epoch ms after which the kind must stop starting new work and return `partial`. */
  deadline: number;
  /** Max concurrent provider calls inside this chunk (WORKER_CONCURRENCY). */
  concurrency: number;
  /** Whether this is the chunk's last allowed try: a transient error now fails the work instead of retrying. */
  lastAttempt: boolean;
  /** Work files shared between the job's stages (blob storage of the Function App). */
  files(): ObjectStore;
  /** Files handed to the app (IMAGE_STORAGE: blob with read-only SAS URLs, or Supabase Storage with signed URLs). */
  outputs(): ObjectStore;
  /** Stores item results and counts them once (idempotent). */
  completeItems(items: ItemResult[]): Promise<void>;
  addUsage(usage: Usage): Promise<void>;
}

export type ChunkOutcome =
  | { status: 'done'; output?: unknown; items?: number; units?: number }
  | { status: 'partial'; cursor: unknown }
  | { status: 'failed'; error: { message: string; code?: string; key?: string } };

/** A job kind: everything the engine needs, nothing it does itself. */
export interface JobKind<Input = unknown> {
  name: string;
  schema: z.ZodType<Input>;
  /** Checks beyond the schema (graph shape, sizes); throws ValidationError naming the field. */
  check?(input: Input): void;
  /** Checks that need the job's owner (e.g. a file named in the input lies in the owner's folder); throws ValidationError naming the field. */
  checkOwner?(input: Input, userId: string): void;
  /** Billable units; must agree with longhaul.units_<kind>() in SQL (a test checks). */
  units(input: Input): number;
  /** Plans stage `ctx.stage`, or returns null when the job has no further stage. */
  planStage(ctx: PlanContext, job: JobRecord, input: Input): Promise<StagePlan | null>;
  /** Does one chunk's work. The job input is not passed: kinds read what the chunk needs (inputs can be megabytes). */
  runChunk(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome>;
  /** The result summary stored on the job when every stage is done. */
  finish(db: Queryable, job: JobRecord): Promise<unknown>;
  /** Called when the job fails, before the refund (e.g. mark items downstream of a failure skipped). */
  onFailed?(db: Queryable, job: JobRecord): Promise<void>;
  /** Results of kinds that keep their own rows (after a position, in order); absent: the job's items are the results. */
  results?(db: Queryable, job: JobRecord, after: number, limit: number): Promise<{ seq: number; item: unknown }[]>;
  /** Shapes one stored item for the results endpoint. */
  formatItem?(item: { key: string; status: string; output: unknown; error: unknown }): unknown;
}
