/**
 * recording_analysis of a long synthetic recording (a tone, 16 kHz mono PCM served over HTTP) with the transcription
 * wire fake: ffmpeg's split time on its own, the job end to end, and the host's peak RSS.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitAudio } from '../shared/media/ffmpeg';
import { startAiFake } from '../test/support/aiFake';
import { startJobsApp } from '../test/support/jobsApp';
import { generateTone, serveDirectory } from '../test/support/recordingFixtures';
import type { Figure } from './localHost';

export async function benchRecording(seconds: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'longhaul-bench-rec-'));
  const fake = await startAiFake();
  const server = await serveDirectory(dir);
  try {
    const file = generateTone(join(dir, 'recording.wav'), seconds);
    const mb = statSync(file).size / 1024 / 1024;
    const splitDir = mkdtempSync(join(dir, 'split-'));
    const started = performance.now();
    const pieces = await splitAudio(file, splitDir, 600, { deadline: Date.now() + 3_600_000 });
    const splitSecs = (performance.now() - started) / 1000;
    console.log(`  ${Math.round(mb)} MB WAV split into ${pieces.length} segments in ${splitSecs.toFixed(1)} s`);
    const app = await startJobsApp({ name: 'bench_rec', env: { OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '100000', RECORDING_ALLOW_PRIVATE_URLS: 'true', LONGHAUL_LOG_LEVEL: 'error' } });
    try {
      const user = await app.createUser(100);
      const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'recording_analysis', input: { url: server.url('recording.wav') } });
      const progress = setInterval(() => {
        void app.pool.query<{ status: string; progress: unknown }>('select status, progress from public.jobs where id = $1', [res.body.id]).then(({ rows }) => console.log(`  ${rows[0]?.status} ${JSON.stringify(rows[0]?.progress)}`), () => undefined);
      }, 30_000);
      const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 1_800_000).finally(() => clearInterval(progress));
      if (job.status !== 'completed') throw new Error(`recording job ended ${String(job.status)}: ${JSON.stringify(job.error)}`);
      const { rows } = await app.pool.query<{ secs: number }>('select extract(epoch from finished_at - created_at)::float8 as secs from public.jobs where id = $1', [res.body.id]);
      const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.host.child.pid}/status`, 'utf8'))?.[1]) / 1024;
      const label = `${(seconds / 3600).toFixed(1)} h recording (${Math.round(mb)} MB WAV, ${pieces.length} segments of 10 min)`;
      return [
        { name: `${label}: ffmpeg split alone`, value: splitSecs, unit: 's', runs: [splitSecs] },
        { name: `${label}: recording_analysis submit → completed, transcription fake`, value: rows[0]!.secs, unit: 's', runs: [rows[0]!.secs] },
        { name: `${label}: host peak RSS`, value: peak, unit: 'MB', runs: [peak] },
      ];
    } finally {
      await app.stop();
    }
  } finally {
    await server.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
