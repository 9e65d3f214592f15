/**
 * ffmpeg confined (shared/media/ffmpeg.ts): inputs that name other files (an ffconcat list, an HLS playlist) are
 * refused before anything they name is opened, an input that never ends is killed at the deadline with no process
 * left behind, the kernel limits and the empty environment are in force, and ordinary recordings still work.
 * The hostile inputs are made here; a named pipe stands in for "a local file": if anything opens it, we know.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NonRetriableError } from '../../shared/errors';
import { FfmpegError, ffmpegPath, probe, splitAudio } from '../../shared/media/ffmpeg';
import { generateTone } from '../support/recordingFixtures';

const root = mkdtempSync(join(tmpdir(), 'longhaul-ffmpeg-test-'));
const marker = `LONGHAUL-MARKER-${randomUUID()}`;
const soon = (ms = 30_000): { deadline: number } => ({ deadline: Date.now() + ms });

/** A fresh directory holding `recording` with the given bytes, and an empty output directory. */
function caseDir(name: string, recording: string | Buffer): { dir: string; input: string; out: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'recording'), recording);
  return { dir, input: join(dir, 'recording'), out: join(dir, 'out') };
}

/**
 * A named pipe at `path` that serves a WAV titled with the marker to whoever opens it. `opened()` is true once
 * anyone has: a reader cannot finish before the 'open' event, since it blocks until we write or close.
 */
function trap(path: string): { opened(): boolean; close(): Promise<void> } {
  const wav = readFileSync(generateTone(join(root, `${randomUUID()}.wav`), 0.5, 440, marker));
  execFileSync('mkfifo', [path]);
  let opened = false;
  let closing = false;
  // Opening for writing blocks (in the thread pool) until a reader opens the pipe.
  const writer = createWriteStream(path);
  const writerOpen = once(writer, 'open');
  writer.on('error', () => undefined);
  writer.once('open', () => {
    if (closing) return void writer.destroy();
    opened = true;
    writer.end(wav);
  });
  return {
    opened: () => opened,
    async close() {
      closing = true;
      if (!opened) {
        // Nobody came: open the reading end ourselves so the pending open returns, then drop both.
        const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
        await writerOpen;
        closeSync(fd);
      }
    },
  };
}

/** Pids of this process's children, zombies included (a zombie keeps its /proc entry until reaped). */
function children(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function rejection(p: Promise<unknown>): Promise<FfmpegError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FfmpegError, `an FfmpegError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

describe('ffmpeg hardening', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('refuses the 36-byte ffconcat file that names itself (it crashed ffmpeg): a clean exit, no signal, no output', async () => {
    const { input, out } = caseDir('self', 'ffconcat version 1.0\nfile recording\n');
    assert.equal(statSync(input).size, 36);
    assert.equal(await probe(input, soon()), undefined);
    const err = await rejection(splitAudio(input, out, 10, soon()));
    assert.equal(err.signal, null, `ffmpeg must exit, not die: ${err.message}`);
    assert.notEqual(err.exitCode, 0);
    assert.ok(err instanceof NonRetriableError);
    assert.doesNotMatch(err.message, new RegExp(root), 'no server path in the message');
    assert.deepEqual(readdirSync(out), []);
  });

  it('never opens a file an ffconcat list names beside it', async () => {
    const { dir, input, out } = caseDir('concat', 'ffconcat version 1.0\nfile secret.wav\n');
    const secret = trap(join(dir, 'secret.wav'));
    try {
      assert.equal(await probe(input, soon()), undefined);
      assert.equal(secret.opened(), false, 'the probe opened the file the list names');
      const err = await rejection(splitAudio(input, out, 10, soon()));
      assert.equal(secret.opened(), false, 'the split opened the file the list names');
      assert.doesNotMatch(err.message, new RegExp(marker));
      assert.deepEqual(readdirSync(out), []);
    } finally {
      await secret.close();
    }
  });

  it('never opens a local file an HLS playlist names by absolute path', async () => {
    const secretPath = join(root, `secret-${randomUUID()}.wav`);
    const secret = trap(secretPath);
    const { input, out } = caseDir('hls', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\n${secretPath}\n#EXT-X-ENDLIST\n`);
    try {
      assert.equal(await probe(input, soon()), undefined);
      assert.equal(secret.opened(), false, 'the probe opened the file the playlist names');
      const err = await rejection(splitAudio(input, out, 10, soon()));
      assert.equal(secret.opened(), false, 'the split opened the file the playlist names');
      assert.doesNotMatch(err.message, new RegExp(marker));
      assert.deepEqual(readdirSync(out), []);
    } finally {
      await secret.close();
    }
  });

  it('kills an input that never ends at the deadline, under kernel limits, without the host environment, leaving no process', { timeout: 30_000 }, async () => {
    const dir = join(root, 'endless');
    mkdirSync(join(dir, 'out'), { recursive: true });
    const input = join(dir, 'recording');
    execFileSync('mkfifo', [input]);
    // The writing end stays open and silent: ffmpeg waits for data that never comes.
    const writer = createWriteStream(input);
    writer.on('error', () => undefined);
    process.env.LONGHAUL_FFMPEG_CANARY = marker;
    const budgetMs = 1_500;
    const started = Date.now();
    const split = splitAudio(input, join(dir, 'out'), 10, { deadline: started + budgetMs });
    // Awaited below; this only keeps an early failed assertion from leaving the rejection unhandled.
    split.catch(() => undefined);
    await once(writer, 'open');
    try {
      // ffmpeg has opened its input, so it is running: read what the kernel holds for it.
      const [pid] = children();
      assert.ok(pid, 'ffmpeg is a child of this process');
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      const limit = (name: string): string => new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits)?.slice(1).join('/') ?? 'missing';
      const [cpuSoft, cpuHard] = limit('Max cpu time').split('/').map(Number);
      assert.ok(cpuSoft === cpuHard && cpuSoft! >= 1 && cpuSoft! <= Math.ceil((2 * budgetMs) / 1000) + 1, `CPU seconds bounded by the budget: ${limit('Max cpu time')}`);
      assert.equal(limit('Max address space'), `${512 * 1024 * 1024}/${512 * 1024 * 1024}`);
      assert.equal(limit('Max core file size'), '0/0');
      assert.equal(limit('Max open files'), '64/64');
      assert.match(limit('Max file size'), /^\d+\/\d+$/);
      assert.doesNotMatch(readFileSync(`/proc/${pid}/environ`, 'utf8'), new RegExp(marker), 'the host environment reaches ffmpeg');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      assert.notEqual(cwd, process.cwd());
      assert.equal(statSync(cwd).mode & 0o777, 0o700, 'a private working directory');
      const err = await rejection(split);
      const elapsed = Date.now() - started;
      assert.ok(err.timedOut, err.message);
      assert.ok(elapsed >= budgetMs && elapsed < budgetMs + 3_000, `killed after ${elapsed} ms for a ${budgetMs} ms budget`);
      assert.match(err.message, /time budget/);
      assert.deepEqual(children(), [], 'no ffmpeg left running or unreaped');
      assert.equal(existsSync(cwd), false, 'the working directory is removed');
    } finally {
      delete process.env.LONGHAUL_FFMPEG_CANARY;
      writer.destroy();
    }
  });

  it('still probes and splits ordinary recordings in the accepted containers', async () => {
    const dir = join(root, 'ordinary');
    mkdirSync(dir, { recursive: true });
    const make = (name: string, args: string[]): string => {
      execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=3', ...args, '-y', join(dir, name)]);
      return join(dir, name);
    };
    const files = [
      generateTone(join(dir, 'tone.wav'), 3),
      make('talk.mp3', ['-c:a', 'libmp3lame']),
      make('talk.m4a', ['-c:a', 'aac']),
      make('talk.ogg', ['-c:a', 'libvorbis']),
      make('talk.webm', ['-c:a', 'libopus']),
      make('talk.flac', ['-c:a', 'flac']),
    ];
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=3', '-f', 'lavfi', '-i', 'sine=duration=3', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', '-y', join(dir, 'clip.mp4')]);
    files.push(join(dir, 'clip.mp4'));
    for (const file of files) {
      const media = await probe(file, soon());
      assert.ok(media && Math.abs(media.durationSec - 3) < 0.2, `${file}: ${JSON.stringify(media)}`);
      assert.equal(media.hasVideo, file.endsWith('.mp4'));
      const out = mkdtempSync(join(dir, 'out-'));
      const segments = await splitAudio(file, out, 2, soon());
      assert.equal(segments.length, 2, file);
      assert.ok(segments.every((s) => statSync(s.file).size > 1_000));
    }
  });
});
