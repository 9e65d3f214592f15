/**
 * ffmpeg for recordings: the binary `@ffmpeg-installer/ffmpeg` ships (FFMPEG_PATH overrides it), run as a child
 * process so media never passes through this process's memory. `probe` reads what ffmpeg says about a file;
 * `splitAudio` extracts the audio track as mono 16 kHz MP3 at 48 kbit/s (≈ 21.6 MB per hour, far under the 25 MB
 * upload cap per segment) cut into segments of a fixed length, with their exact start and end times.
 *
 * The file is a stranger's upload and the bundled build dates from 2018 (N-47683, the newest linux-x64 ffmpeg that a
 * registry package carries inside itself), so every run is confined rather than trusted:
 * - input through the `file` protocol only, and only the demuxers of ordinary audio and video containers: playlist,
 *   concat and device formats open other files or URLs by name (an HLS playlist read a local file by absolute path;
 *   an ffconcat file naming itself crashed the process);
 * - `-nostdin`, no environment of the host (no secret reaches it), cwd in a fresh private directory;
 * - a deadline: the process group is killed with SIGKILL when the caller's deadline (the chunk's) passes;
 * - kernel limits set by the shell's `ulimit` before `exec`: CPU seconds, address space, file size, open files,
 *   no core file; they hold even if this process dies and its timer with it;
 * - stderr kept to a bounded head and tail.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NonRetriableError } from '../errors';

export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH ?? (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/**
 * Demuxers a recording may arrive in, as ffmpeg names them (`mov` covers mp4/m4a/3gp, `matroska` webm, `asf`
 * wma/wmv). None of them opens another file by name: those that can (hls, dash, concat, image2, tty, lavfi…) stay out.
 */
export const INPUT_FORMATS = ['mov', 'matroska', 'wav', 'w64', 'mp3', 'flac', 'ogg', 'aac', 'asf', 'avi', 'mpegts', 'mpeg', 'flv', 'amr', 'caf', 'aiff'];

// Reading a file's headers takes a second or two; a probe still running after a minute is stuck on a crafted file.
const PROBE_MAX_MS = 60_000;
// Measured: probing a 4K HEVC clip or splitting hours of audio stays under 100 MiB of address space (15–20 MB resident).
const ADDRESS_SPACE_KIB = 512 * 1024;
// 512-byte blocks in dash, Debian's /bin/sh (bash counts 1 KiB): 256 MiB per file, a 10-minute segment is ~4 MB.
const FILE_SIZE_BLOCKS = 512 * 1024;
// The input, a segment, its list, stdio and a few libraries' own: a demuxer fanning out to many files is refused.
const OPEN_FILES = 64;
// Decoder threads: each reserves a stack and a malloc arena, which would eat the address space on a many-core host.
const DECODER_THREADS = '2';
// Enough to explain a failure and to read the stream list; a long run's progress lines must not pile up.
const STDERR_HEAD = 32_768;
const STDERR_TAIL = 8_192;

/** When a run must be over: epoch ms (the chunk's deadline). */
export interface FfmpegLimits {
  deadline: number;
}

/** ffmpeg refused or failed a file; the same file fails the same way on a retry. */
export class FfmpegError extends NonRetriableError {
  override name = 'FfmpegError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string;
}

// Process groups of runs in flight: killed if this process exits first, so no ffmpeg outlives an orderly stop.
const running = new Set<number>();
let exitHook = false;
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Input options every run gets: only files, only the accepted containers, few threads. */
function inputOptions(): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', INPUT_FORMATS.join(','), '-threads', DECODER_THREADS];
}

async function run(args: string[], deadline: number): Promise<RunResult> {
  const budgetMs = deadline - Date.now();
  if (budgetMs <= 0) return { exitCode: null, signal: null, timedOut: true, stderr: '' };
  // CPU time may run ahead of the wall clock on a second thread; twice the budget still bounds an orphaned run.
  const cpuSeconds = Math.ceil((2 * budgetMs) / 1000) + 1;
  // A shell applies the limits (soft and hard) and becomes ffmpeg (exec), so the child's pid is ffmpeg's. /bin/sh is
  // on every Linux image (util-linux's prlimit is not guaranteed); dash takes one limit per ulimit; -t, -v, -n and -c
  // mean the same in dash and bash. A limit that cannot be set stops the run before ffmpeg starts.
  const limits = [`-t ${cpuSeconds}`, `-v ${ADDRESS_SPACE_KIB}`, `-f ${FILE_SIZE_BLOCKS}`, `-n ${OPEN_FILES}`, '-c 0'].map((l) => `ulimit ${l}`).join(' && ') + ' && exec "$0" "$@"';
  const cwd = await mkdtemp(join(tmpdir(), 'longhaul-ffmpeg-'));
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', limits, ffmpegPath(), '-hide_banner', '-nostdin', ...args], {
        cwd,
        // Nothing of the host's environment (keys, connection strings); PATH only for an FFMPEG_PATH without a slash.
        env: { PATH: '/usr/bin:/bin' },
        stdio: ['ignore', 'ignore', 'pipe'],
        // Its own process group, so the deadline kills whatever it started along with it.
        detached: true,
      });
      let head = '';
      let tail = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        if (head.length < STDERR_HEAD) {
          const room = STDERR_HEAD - head.length;
          head += d.slice(0, room);
          d = d.slice(room);
        }
        if (d) tail = (tail + d).slice(-STDERR_TAIL);
      });
      let timedOut = false;
      const pid = child.pid;
      if (pid !== undefined) {
        running.add(pid);
        if (!exitHook) {
          exitHook = true;
          process.once('exit', () => running.forEach(killGroup));
        }
      }
      const timer = setTimeout(() => {
        timedOut = true;
        if (pid !== undefined) killGroup(pid);
      }, budgetMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        if (pid !== undefined) running.delete(pid);
        reject(err);
      });
      child.once('close', (exitCode, signal) => {
        clearTimeout(timer);
        if (pid !== undefined) running.delete(pid);
        resolve({ exitCode, signal, timedOut, stderr: tail ? `${head}\n${tail}` : head });
      });
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

/** The failure of a run as a user may read it: no server path, one line. */
function failure(what: string, result: RunResult, paths: string[]): FfmpegError {
  const { exitCode, signal, timedOut } = result;
  if (timedOut) return new FfmpegError(`${what}: ffmpeg did not finish within the chunk's time budget`, exitCode, signal, true);
  let reason = result.stderr.trim().split('\n').pop() ?? '';
  for (const p of paths) reason = reason.split(`file:${p}`).join('the file').split(p).join('the file');
  reason = reason.replace(/\/[^\s'":]+/g, '…').slice(0, 300);
  const how = signal ? `ffmpeg stopped by ${signal}` : `ffmpeg exited with ${exitCode}`;
  return new FfmpegError(`${what}: ${how}${reason ? ` (${reason})` : ''}`, exitCode, signal, false);
}

export interface Probe {
  durationSec: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** What ffmpeg recognises in a file; undefined when it is not a media file it will read. */
export async function probe(file: string, limits: FfmpegLimits): Promise<Probe | undefined> {
  const result = await run([...inputOptions(), '-i', `file:${file}`], Math.min(limits.deadline, Date.now() + PROBE_MAX_MS));
  if (result.timedOut) throw failure('the recording could not be read', result, [file]);
  // Without an output file ffmpeg lists the input and exits with 1: the listing is the answer.
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(result.stderr);
  const hasAudio = /Stream #\S+.*: Audio:/.test(result.stderr);
  if (result.signal || !duration || !hasAudio) return undefined;
  const [, h, m, s] = duration;
  return { durationSec: Number(h) * 3600 + Number(m) * 60 + Number(s), hasAudio, hasVideo: /Stream #\S+.*: Video:/.test(result.stderr) };
}

export interface AudioSegment {
  file: string;
  startSec: number;
  endSec: number;
}

export async function splitAudio(input: string, outDir: string, segmentSec: number, limits: FfmpegLimits): Promise<AudioSegment[]> {
  const list = join(outDir, 'segments.csv');
  const output = ['-vn', '-sn', '-dn', '-ac', '1', '-ar', '16000', '-b:a', '48k', '-protocol_whitelist', 'file', '-f', 'segment', '-segment_time', String(segmentSec), '-segment_list', `file:${list}`, '-reset_timestamps', '1', '-y', `file:${join(outDir, 'seg%04d.mp3')}`];
  const result = await run(['-loglevel', 'error', ...inputOptions(), '-i', `file:${input}`, ...output], limits.deadline);
  if (result.timedOut || result.signal || result.exitCode !== 0) throw failure('the recording could not be split', result, [input, outDir]);
  const rows = (await readFile(list, 'utf8')).trim().split('\n');
  return rows
    .map((row) => row.split(','))
    .map(([file, start, end]) => ({ file: join(outDir, file!), startSec: Number(start), endSec: Number(end) }))
    // ffmpeg may leave a sliver of a last segment (tens of milliseconds): nothing to transcribe there.
    .filter((s) => s.endSec - s.startSec >= 0.25);
}
