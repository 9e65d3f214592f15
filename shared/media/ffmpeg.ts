/**
 * ffmpeg for recordings: the binary `@ffmpeg-installer/ffmpeg` ships (FFMPEG_PATH overrides it), run as a child
 * process so media never passes through this process's memory. `probe` reads what ffmpeg says about a file;
 * `splitAudio` extracts the audio track as mono 16 kHz MP3 at 48 kbit/s (≈ 21.6 MB per hour, far under the 25 MB
 * upload cap per segment) cut into segments of a fixed length, with their exact start and end times.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH ?? (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), ['-hide_banner', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      // The tail is enough to explain a failure; a long file's progress lines must not pile up.
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

export interface Probe {
  durationSec: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** What ffmpeg recognises in a file; undefined when it is not a media file it can read. */
export async function probe(file: string): Promise<Probe | undefined> {
  const { stderr } = await run(['-i', file]);
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const hasAudio = /Stream #\S+.*: Audio:/.test(stderr);
  if (!duration || !hasAudio) return undefined;
  const [, h, m, s] = duration;
  return { durationSec: Number(h) * 3600 + Number(m) * 60 + Number(s), hasAudio, hasVideo: /Stream #\S+.*: Video:/.test(stderr) };
}

export interface AudioSegment {
  file: string;
  startSec: number;
  endSec: number;
}

export async function splitAudio(input: string, outDir: string, segmentSec: number): Promise<AudioSegment[]> {
  const list = join(outDir, 'segments.csv');
  const { code, stderr } = await run(['-loglevel', 'error', '-i', input, '-vn', '-ac', '1', '-ar', '16000', '-b:a', '48k', '-f', 'segment', '-segment_time', String(segmentSec), '-segment_list', list, '-reset_timestamps', '1', '-y', join(outDir, 'seg%04d.mp3')]);
  if (code !== 0) throw new Error(`ffmpeg could not split the recording: ${stderr.trim().split('\n').pop()}`);
  const rows = (await readFile(list, 'utf8')).trim().split('\n');
  return rows
    .map((row) => row.split(','))
    .map(([file, start, end]) => ({ file: join(outDir, file!), startSec: Number(start), endSec: Number(end) }))
    // ffmpeg may leave a sliver of a last segment (tens of milliseconds): nothing to transcribe there.
    .filter((s) => s.endSec - s.startSec >= 0.25);
}
