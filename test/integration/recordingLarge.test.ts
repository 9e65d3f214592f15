/**
 * A recording of several hundred megabytes through recording_analysis with bounded memory: the file is streamed to
 * disk, split by ffmpeg outside the process and uploaded from disk, so the host's peak RSS stays far below the file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJobsApp, type JobsApp } from '../support/jobsApp';
import { startAiFake, type AiFake } from '../support/aiFake';
import { generateTone, serveDirectory } from '../support/recordingFixtures';

describe('recording_analysis of a large file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longhaul-rec-large-'));
  let fake: AiFake;
  let app: JobsApp;
  let server: Awaited<ReturnType<typeof serveDirectory>>;
  before(async () => {
    // 2 h 20 min of 16 kHz mono PCM: 269 MB.
    generateTone(join(dir, 'long.wav'), 8400);
    server = await serveDirectory(dir);
    fake = await startAiFake();
    app = await startJobsApp({ name: 'rec_large', env: { OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '100000', RECORDING_ALLOW_PRIVATE_URLS: 'true', JOB_CHUNK_CONCURRENCY: '4' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('processes a 269 MB recording while the host\'s peak memory grows by less than 160 MB (far less than the file)', async () => {
    assert.ok(statSync(join(dir, 'long.wav')).size > 250 * 1024 * 1024);
    const user = await app.createUser(100);
    const hwm = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.host.child.pid}/status`, 'utf8'))?.[1]) / 1024;
    const before = hwm();
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'recording_analysis', input: { url: server.url('long.wav'), analyze: false } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 240_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal((job.result as { durationSec: number }).durationSec, 8400);
    assert.equal(fake.requests.filter((r) => r.operation === 'transcribe').length, 14, 'fourteen 10-minute segments');
    // Memory grows with the segments in flight (4 here, ~3.6 MB each plus the SDK's upload copies) and the heap's
    // slack, not with the file: 75–92 MB alone, 124 MB once beside the whole suite. Holding the file would add ≥ 269 MB.
    const growth = hwm() - before;
    console.log(`[rec-large] peak RSS before ${before.toFixed(0)} MB, growth ${growth.toFixed(0)} MB`);
    assert.ok(growth < 160, `host peak RSS grew ${Math.round(growth)} MB (from ${Math.round(before)} MB) for a 269 MB file`);
  });
});
