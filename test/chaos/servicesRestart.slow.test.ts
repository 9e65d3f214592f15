/**
 * Chaos (slow, `npm run test:chaos`): Postgres restarted mid-run, then Azurite restarted mid-run, under a host that
 * keeps running. The test starts its own embedded Postgres and Azurite (own ports and data directories; the shared
 * test services are never touched), and restarts them on the same ports with their data, as a managed service
 * failover or a storage emulator restart would. The host reconnects and finishes every job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type AzuriteService } from '../../local/services/azurite';
import { startPostgres, type PostgresService } from '../../local/services/postgres';
import { startAiFake, type AiFake } from '../support/aiFake';
import { assertLedgerConsistent, CHAOS_KINDS, chaosInput, submit, waitAllFinished, type Submitted } from '../support/chaos';
import { eventually } from '../support/hostProcess';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

const OUTAGE_MS = 3000;

describe('chaos: Postgres and Azurite restarted mid-run', () => {
  let scratch: string;
  let postgres: PostgresService;
  let azurite: AzuriteService;
  let fake: AiFake;
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'longhaul-chaos-'));
    chmodSync(scratch, 0o755);
    postgres = await startPostgres({ dataDir: join(scratch, 'pg'), ephemeral: true });
    azurite = await startAzurite({ dataDir: join(scratch, 'azurite') });
    fake = await startAiFake();
    fake.delayMs = 40;
    app = await startJobsApp({
      name: 'chaos_services',
      postgresUrl: postgres.url,
      storage: azurite.connectionString,
      env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '4', IMAGE_CONTAINER: 'chaos-images',
        // The production default (20 s) heals a delivery lost in an outage; shorter here keeps the test short.
        SWEEPER_REDELIVER_AFTER_SECONDS: '5' },
    });
    user = await app.createUser(100_000);
  });
  after(async () => {
    await app?.stop().catch(() => undefined);
    await fake?.close();
    await azurite?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function workload(tag: string): Promise<Submitted[]> {
    const jobs: Submitted[] = [];
    for (const [i, kind] of [...CHAOS_KINDS, ...CHAOS_KINDS].entries()) jobs.push(await submit(app, user, kind, chaosInput(kind, `${tag}${i}`, kind === 'workflow' ? 60 : kind === 'rag_ingestion' ? 120 : 4)));
    return jobs;
  }

  async function whenBusy(jobs: Submitted[]): Promise<void> {
    await eventually(
      async () => {
        const { rows } = await app.pool.query<{ n: number }>("select count(*)::int as n from public.jobs where id = any($1::uuid[]) and status = 'running'", [jobs.map((j) => j.id)]);
        return (rows[0]?.n ?? 0) >= 2 ? true : undefined;
      },
      60_000,
      'jobs running',
    );
  }

  it(`Postgres down for ${OUTAGE_MS} ms mid-run: the host reconnects and every job completes, credits once`, async () => {
    const started = Date.now();
    const jobs = await workload('pg');
    await whenBusy(jobs);
    await postgres.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    postgres = await startPostgres({ dataDir: postgres.dataDir, port: postgres.port, ephemeral: true });
    const counts = await waitAllFinished(app.pool, jobs.map((j) => j.id), 180_000);
    console.log(`[chaos] postgres restart: ${jobs.length} jobs finished in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, { completed: jobs.length }, `every job completes\n${app.host.output().slice(-3000)}`);
    await assertLedgerConsistent(app.pool, jobs.map((j) => j.id));
    assert.equal(app.host.child.exitCode, null, 'the same host process did the work');
  });

  it(`Azurite down for ${OUTAGE_MS} ms mid-run: the host reconnects and every job completes, credits once`, async () => {
    const started = Date.now();
    const jobs = await workload('az');
    await whenBusy(jobs);
    await azurite.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    azurite = await startAzurite({ dataDir: join(scratch, 'azurite'), queuePort: azurite.queuePort, blobPort: azurite.blobPort });
    const counts = await waitAllFinished(app.pool, jobs.map((j) => j.id), 180_000);
    console.log(`[chaos] azurite restart: ${jobs.length} jobs finished in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, { completed: jobs.length }, `every job completes\n${app.host.output().slice(-3000)}`);
    await assertLedgerConsistent(app.pool, jobs.map((j) => j.id));
    assert.equal(app.host.child.exitCode, null, 'the same host process did the work');
  });
});
