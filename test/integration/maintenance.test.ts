/**
 * POST /api/maintenance/clean on the real app: finished jobs older than the cutoff lose their stored files (Azurite),
 * their rows and their Durable history; recent and running jobs are untouched; a dry run counts and deletes nothing;
 * a failed file delete keeps the rows that lead to the files; the ledger stays.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { cleanFinishedJobs, type CleanReport } from '../../shared/maintenance';
import { createBlobStore } from '../../shared/storage/blobStore';
import { testStorageConnectionString } from '../support/database';
import { DurableApi } from '../support/durableApi';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';

/** The endpoint's answer: the report the domain returns, or an error body. */
type CleanBody = CleanReport & { error?: { code: string; message: string; details?: { issues: { path: string }[] } } };

describe('maintenance clean', () => {
  let app: JobsApp;
  let user: TestUser;
  let durable: DurableApi;
  const ids: Record<'oldDone' | 'newDone' | 'oldFailed' | 'oldCancelled' | 'running', string> = {} as never;
  // The app's stores: work files (recording segments) and outputs (generated images, IMAGE_CONTAINER's default).
  let work: ContainerClient;
  let images: ContainerClient;
  /** Every object this file stored, as container/name: what the purge must delete and what it must keep. */
  const stored = { purged: [] as string[], kept: [] as string[] };

  async function existing(): Promise<string[]> {
    const names: string[] = [];
    for (const container of [work, images]) {
      for (const name of [...stored.purged, ...stored.kept].filter((n) => n.startsWith(`${container.containerName}/`))) {
        if (await container.getBlockBlobClient(name.slice(container.containerName.length + 1)).exists()) names.push(name);
      }
    }
    return names.sort();
  }

  /** Orchestration instances of a job (every attempt, every stage runner). */
  async function instancesOf(jobId: string): Promise<string[]> {
    const res = await fetch(durable.url('instances/', { instanceIdPrefix: `job-${jobId}-`, showInput: 'false' }));
    return ((await res.json()) as { instanceId: string }[]).map((i) => i.instanceId).sort();
  }

  async function insertPending(): Promise<string> {
    const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1::jsonb, $2) returning id", [JSON.stringify(llmNodes(2)), user.id]);
    return rows[0]!.id;
  }

  before(async () => {
    // No webhook bridge: jobs inserted in SQL stay where the test puts them; jobs sent to the API still run.
    app = await startJobsApp({ name: 'maintenance', bridge: false });
    durable = new DurableApi(app.host.url, app.host.keys.masterKey);
    user = await app.createUser(1000);
    // 41 llm nodes make two chunks (at most 40 a chunk), so the stage runs in a stageRunner sub-orchestration whose
    // history must be purged too (a one-chunk stage would run inside the job's own orchestration).
    for (const name of ['oldDone', 'newDone'] as const) {
      const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(41, name) });
      ids[name] = res.body.id;
    }
    for (const name of ['oldDone', 'newDone'] as const) assert.equal((await app.waitForStatus(ids[name], ['completed', 'failed'])).status, 'completed');
    ids.oldFailed = await insertPending();
    await app.pool.query("select longhaul.fail_job($1, 1, '{\"message\":\"test\"}'::jsonb, 'test')", [ids.oldFailed]);
    ids.oldCancelled = await insertPending();
    await app.pool.query("select longhaul.request_cancel($1, 'test')", [ids.oldCancelled]);
    ids.running = await insertPending();
    await app.pool.query("select longhaul.start_job($1, 1, 'test')", [ids.running]);
    // Ages: the "old" ones finished 40 days ago; the running one started 40 days ago (and must survive anyway).
    await app.pool.query("update public.jobs set finished_at = now() - interval '40 days', created_at = now() - interval '41 days' where id = any($1::uuid[])", [[ids.oldDone, ids.oldFailed, ids.oldCancelled]]);
    await app.pool.query("update public.jobs set started_at = now() - interval '40 days', created_at = now() - interval '41 days' where id = $1", [ids.running]);
    const statuses = await app.pool.query<{ id: string; status: string }>('select id, status from public.jobs');
    assert.deepEqual(new Set(statuses.rows.map((r) => r.status)), new Set(['completed', 'failed', 'cancelled', 'running']));

    // Files as the kinds name them (<job id>/…): a recording's segments and an image of the old jobs; a recent job's
    // segment and an object of a name that merely starts with an old job's id stay.
    const service = BlobServiceClient.fromConnectionString(testStorageConnectionString());
    work = service.getContainerClient('longhaul-work');
    images = service.getContainerClient('longhaul-images');
    for (const container of [work, images]) await container.createIfNotExists();
    const put = async (container: ContainerClient, name: string, keep: boolean): Promise<void> => {
      await container.getBlockBlobClient(name).uploadData(Buffer.from(name), { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
      (keep ? stored.kept : stored.purged).push(`${container.containerName}/${name}`);
    };
    await put(work, `${ids.oldDone}/segments/0000.mp3`, false);
    await put(work, `${ids.oldDone}/segments/0001.mp3`, false);
    await put(images, `${ids.oldDone}/img-0-0.png`, false);
    await put(work, `${ids.oldCancelled}/segments/0000.mp3`, false);
    await put(work, `${ids.newDone}/segments/0000.mp3`, true);
    await put(work, `${ids.oldDone}-not-a-job/file.bin`, true);
  });
  after(async () => {
    // No data left behind in the shared Azurite.
    for (const name of [...stored.purged, ...stored.kept]) {
      const container = name.startsWith('longhaul-work/') ? work : images;
      await container?.getBlockBlobClient(name.slice(container.containerName.length + 1)).deleteIfExists();
    }
    await app?.stop();
  });

  it('answers 401 without the admin key and to a signed-in user', async () => {
    assert.equal((await app.api('POST', '/api/maintenance/clean', null, { olderThanDays: 30, dryRun: true })).status, 401);
    assert.equal((await app.api('POST', '/api/maintenance/clean', user, { olderThanDays: 30, dryRun: true })).status, 401);
  });

  it('answers 400 naming the field for a bad body, and deletes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ olderThanDays: -1 }, 'olderThanDays'],
      [{ olderThanDays: 'thirty' }, 'olderThanDays'],
      [{ dryRun: true }, 'olderThanDays'],
      [{ olderThanDays: 30, dryRun: 'yes' }, 'dryRun'],
      [{ olderThanDays: 30, everything: true }, '(body)'],
      ['not json', '(body)'],
    ];
    for (const [body, field] of cases) {
      const res = await app.api<CleanBody>('POST', '/api/maintenance/clean', 'admin', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error?.code, 'invalid_input');
      assert.ok(res.body.error?.details?.issues.some((i) => i.path === field) || res.body.error?.message.startsWith(field), `${JSON.stringify(body)} names ${field}: ${res.body.error?.message}`);
    }
    assert.equal(Number((await app.pool.query('select count(*) from public.jobs')).rows[0].count), 5);
  });

  it('a dry run reports what would be purged and deletes nothing', async () => {
    const before = await instancesOf(ids.oldDone);
    assert.deepEqual(before, [`job-${ids.oldDone}-1`, `job-${ids.oldDone}-1-s0`], 'the completed job has its orchestration and one stage runner');
    const res = await app.api<CleanBody>('POST', '/api/maintenance/clean', 'admin', { olderThanDays: 30, dryRun: true });
    assert.equal(res.status, 200);
    assert.equal(res.body.dryRun, true);
    assert.equal(res.body.jobs, 3);
    assert.deepEqual(res.body.byStatus, { completed: 1, failed: 1, cancelled: 1 });
    assert.equal(res.body.durableInstances, 2);
    assert.ok(res.body.chunks >= 2 && res.body.items === 41 && res.body.events >= 7, JSON.stringify(res.body));
    assert.equal(res.body.blobs, 4, 'the old jobs\' stored files are counted');
    assert.equal(Number((await app.pool.query('select count(*) from public.jobs')).rows[0].count), 5);
    assert.deepEqual(await instancesOf(ids.oldDone), before);
    assert.deepEqual(await existing(), [...stored.purged, ...stored.kept].sort(), 'a dry run deletes no file');
  });

  it('a failed file delete keeps the jobs\' rows (and so the way to their files) for the next clean', async () => {
    const real = createBlobStore({ connection: { connectionString: testStorageConnectionString() }, container: 'longhaul-work', urlLifetimeMs: 60_000 });
    const failing = { ...real, remove: () => Promise.reject(new Error('storage unavailable')) };
    const durable = { purgeInstanceHistory: () => Promise.resolve({ instancesDeleted: 0 }), getStatus: () => Promise.resolve(undefined) };
    await assert.rejects(cleanFinishedJobs({ db: app.pool, durable, stores: [failing] }, { olderThanDays: 30, dryRun: false }), /storage unavailable/);
    assert.equal(Number((await app.pool.query('select count(*) from public.jobs')).rows[0].count), 5, 'no row was deleted');
    assert.deepEqual(await existing(), [...stored.purged, ...stored.kept].sort());
  });

  it('purges old finished jobs, their stored files, rows and Durable history; keeps recent and running jobs and the ledger', async () => {
    const ledgerBefore = await app.ledger(ids.oldDone);
    const res = await app.api<CleanBody>('POST', '/api/maintenance/clean', 'admin', { olderThanDays: 30 });
    assert.equal(res.status, 200);
    assert.equal(res.body.dryRun, false);
    assert.equal(res.body.jobs, 3);
    assert.equal(res.body.durableInstances, 2);
    assert.equal(res.body.items, 41);
    assert.equal(res.body.blobs, 4);
    assert.deepEqual(await existing(), [...stored.kept].sort(), 'the old jobs\' files are gone from blob storage; others stay');

    const left = await app.pool.query<{ id: string }>('select id from public.jobs');
    assert.deepEqual(new Set(left.rows.map((r) => r.id)), new Set([ids.newDone, ids.running]));
    for (const table of ['public.job_events', 'longhaul.job_chunks', 'longhaul.job_items', 'longhaul.job_stages', 'longhaul.job_runs', 'longhaul.job_deliveries']) {
      const { rows } = await app.pool.query(`select count(*)::int as n from ${table} where job_id = any($1::uuid[])`, [[ids.oldDone, ids.oldFailed, ids.oldCancelled]]);
      assert.equal(rows[0].n, 0, `${table} has no rows of purged jobs`);
    }
    assert.deepEqual(await instancesOf(ids.oldDone), [], 'the Durable history of the purged job is gone');
    assert.equal((await instancesOf(ids.newDone)).length, 2, 'a recent job keeps its history');
    assert.deepEqual(await app.ledger(ids.oldDone), ledgerBefore, 'the credit ledger is the accounting record: kept');
    assert.equal((await app.api<JobBody>('GET', `/api/jobs/${ids.running}`, 'admin')).body.status, 'running');
    assert.equal((await app.api('GET', `/api/jobs/${ids.oldDone}`, 'admin')).status, 404);

    const again = await app.api<CleanBody>('POST', '/api/maintenance/clean', 'admin', { olderThanDays: 30 });
    assert.equal(again.body.jobs, 0, 'nothing left to purge');
    assert.equal(again.body.blobs, 0);
  });
});
