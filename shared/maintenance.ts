/**
 * Maintenance: purge finished jobs older than a cutoff — their stored files (every object under `<job id>/` in the
 * work files and the output store: recording segments, generated images), their Durable history (every orchestration
 * instance of every attempt) and their rows (chunks, items, events, files, through the SQL function
 * longhaul.purge_jobs). The credit ledger stays: it is the accounting record. A dry run lists and counts and deletes
 * nothing.
 *
 * Order: files and Durable history first, rows last. The rows are how a run finds a job's files and instances: if a
 * delete fails or the process dies before the rows go, the next run finds the job again and repeats the (idempotent)
 * deletes; the other order could leave files and history no run would ever find again.
 */
import { z } from 'zod';
import type { Queryable } from './db';
import { jobInstanceId } from './orchestration/contracts';
import type { ObjectStore } from './storage/blobStore';

/** Body of POST /api/maintenance/clean. */
export const cleanRequestSchema = z
  .object({
    olderThanDays: z.number({ error: 'a number of days (0 or more)' }).min(0, 'a number of days (0 or more)').max(36_500),
    dryRun: z.boolean({ error: 'true or false' }).default(false),
  })
  .strict();
export type CleanRequest = z.infer<typeof cleanRequestSchema>;

/** What a clean purged (or, on a dry run, would purge). */
export interface CleanReport {
  dryRun: boolean;
  olderThanDays: number;
  finishedBefore: string;
  jobs: number;
  byStatus: Record<'completed' | 'failed' | 'cancelled', number>;
  chunks: number;
  items: number;
  events: number;
  files: number;
  /** Stored objects (work files and outputs under the jobs' ids) that were (or would be) deleted. */
  blobs: number;
  /** Orchestration instances (job and stage runners of every attempt) whose history was (or would be) purged. */
  durableInstances: number;
  /** More jobs match than one call handles: call again. */
  more: boolean;
}

/** The part of the Durable client a purge needs. */
export interface DurableHistory {
  purgeInstanceHistory(instanceId: string): Promise<{ instancesDeleted: number }>;
  getStatus(instanceId: string, options?: { showHistory?: boolean; showInput?: boolean }): Promise<unknown>;
}

// One call purges at most this many jobs: each costs a few Durable calls, and an HTTP answer must come within 230 s.
const BATCH = 500;
// Durable management calls in flight at once.
const PARALLEL = 8;

/** Every orchestration instance a job may have had: job-<id>-<attempt> and its stage runners job-<id>-<attempt>-s<n>. */
export function jobInstanceIds(jobId: string, attempts: number, stages: number): string[] {
  const ids: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const root = jobInstanceId({ jobId, attempt });
    ids.push(root);
    for (let stage = 0; stage < stages; stage++) ids.push(`${root}-s${stage}`);
  }
  return ids;
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<number>): Promise<number> {
  const counts: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
      while (next < items.length) {
        const n = next++;
        counts[n] = await fn(items[n]!);
      }
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** What a clean works on: the database, the Durable client, and every store jobs keep files in. */
export interface CleanDeps {
  db: Queryable;
  durable: DurableHistory;
  /** Stores whose objects are named `<job id>/…` (work files, outputs). */
  stores: ObjectStore[];
}

export async function cleanFinishedJobs({ db, durable, stores }: CleanDeps, req: CleanRequest, now = new Date()): Promise<CleanReport> {
  const finishedBefore = new Date(now.getTime() - req.olderThanDays * 86_400_000);
  const { rows } = await db.query<{ job_id: string; attempt: number; stages: number; status: 'completed' | 'failed' | 'cancelled'; chunks: string; items: string; events: string; files: string }>(
    'select * from longhaul.purgeable_jobs($1, $2)',
    [finishedBefore, BATCH + 1],
  );
  const more = rows.length > BATCH;
  const jobs = rows.slice(0, BATCH);
  const instanceIds = jobs.flatMap((j) => jobInstanceIds(j.job_id, j.attempt, j.stages));
  const byStatus = { completed: 0, failed: 0, cancelled: 0 };
  for (const j of jobs) byStatus[j.status]++;
  const sum = (key: 'chunks' | 'items' | 'events' | 'files'): number => jobs.reduce((n, j) => n + Number(j[key]), 0);
  const base = { olderThanDays: req.olderThanDays, finishedBefore: finishedBefore.toISOString(), more };
  const listings = stores.flatMap((store) => jobs.map((j) => ({ store, jobId: j.job_id })));
  const blobsOf = async ({ store, jobId }: { store: ObjectStore; jobId: string }, remove: boolean): Promise<number> => {
    const names = await store.list(jobId);
    if (remove && names.length) await store.remove(names);
    return names.length;
  };

  if (req.dryRun) {
    // getStatus answers 404 as an error: an instance that cannot be read is not counted.
    const existing = await inParallel(instanceIds, async (id) => ((await durable.getStatus(id, { showHistory: false, showInput: false }).catch(() => undefined)) ? 1 : 0));
    const blobs = await inParallel(listings, (l) => blobsOf(l, false));
    return { dryRun: true, ...base, jobs: jobs.length, byStatus, chunks: sum('chunks'), items: sum('items'), events: sum('events'), files: sum('files'), blobs, durableInstances: existing };
  }

  // A failed delete throws here, before any row is gone: the next clean finds the job and its files again.
  const blobs = await inParallel(listings, (l) => blobsOf(l, true));
  const purged = await inParallel(instanceIds, async (id) => (await durable.purgeInstanceHistory(id)).instancesDeleted);
  const deleted = await db.query<{ jobs: string; chunks: string; items: string; events: string; files: string }>('select * from longhaul.purge_jobs($1::uuid[], $2)', [
    jobs.map((j) => j.job_id),
    finishedBefore,
  ]);
  const d = deleted.rows[0]!;
  return {
    dryRun: false,
    ...base,
    jobs: Number(d.jobs),
    byStatus,
    chunks: Number(d.chunks),
    items: Number(d.items),
    events: Number(d.events),
    files: Number(d.files),
    blobs,
    durableInstances: purged,
  };
}
