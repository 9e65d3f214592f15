/** The CLI's progress bar, rate, ETA and watch rendering (TTY redraw vs. a line per change), without a server. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateEta, fitToWidth, formatDuration, formatRate, progressBar, RateEstimator, renderProgressLine } from '../../local/cli/longhaul/progress';
import { watchJob, type Job } from '../../local/cli/longhaul/watch';
import type { ApiClient } from '../../local/cli/longhaul/client';
import { NetworkError } from '../../local/cli/longhaul/errors';

describe('longhaul CLI progress formatting', () => {
  it('draws a bar proportional to the percent, clamped to 0–100', () => {
    assert.equal(progressBar(0, 10, true), '[..........]');
    assert.equal(progressBar(50, 10, true), '[#####.....]');
    assert.equal(progressBar(100, 10, true), '[##########]');
    assert.equal(progressBar(140, 10, true), '[##########]');
    assert.equal(progressBar(-5, 10, true), '[..........]');
    assert.equal(progressBar(Number.NaN, 4, true), '[....]');
    assert.equal(progressBar(25, 4), '[█░░░]');
  });

  it('formats rates per second, per minute below 1/s and per hour below 1/min', () => {
    assert.equal(formatRate(250.4), '250/s');
    assert.equal(formatRate(12.4), '12/s');
    assert.equal(formatRate(2.25), '2.3/s');
    assert.equal(formatRate(2), '2/s');
    assert.equal(formatRate(0.5), '30/min');
    assert.equal(formatRate(1 / 600), '6/h');
    assert.equal(formatRate(0), '--/s');
    assert.equal(formatRate(null), '--/s');
  });

  it('formats durations as m:ss and h:mm:ss, rounding up, unknown as --:--', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(9.2), '0:10');
    assert.equal(formatDuration(75), '1:15');
    assert.equal(formatDuration(3600 + 62), '1:01:02');
    assert.equal(formatDuration(1e9), '>99h');
    assert.equal(formatDuration(null), '--:--');
    assert.equal(formatDuration(-1), '--:--');
  });

  it('estimates the time left from the rate; unknown without a rate or a total', () => {
    assert.equal(estimateEta(25, 100, 5), 15);
    assert.equal(estimateEta(100, 100, null), 0);
    assert.equal(estimateEta(10, 100, null), null);
    assert.equal(estimateEta(0, 0, 3), null);
  });

  it('measures the rate over a sliding window and starts over when done goes down (a retry)', () => {
    const r = new RateEstimator(10_000);
    assert.equal(r.rate(), null);
    r.add(0, 0);
    assert.equal(r.rate(), null, 'one sample is no rate');
    r.add(1000, 10);
    assert.equal(r.rate(), 10);
    r.add(2000, 10);
    assert.equal(r.rate(), 5);
    // Fast start, then slow: after the window the early burst no longer counts.
    for (let t = 3000; t <= 30_000; t += 1000) r.add(t, 10 + (t - 2000) / 1000);
    assert.ok(Math.abs(r.rate()! - 1) < 0.15, `rate follows the recent pace (${r.rate()})`);
    r.add(31_000, 3);
    assert.equal(r.rate(), null, 'a drop in done resets the window');
    r.add(33_000, 7);
    assert.equal(r.rate(), 2);
  });

  it('renders a running job with bar, counts, rate, ETA and stage; a waiting job with its queue position', () => {
    const running = { status: 'running', progress: { done: 30, total: 120, percent: 25, stage: 'nodes', message: 'batch 2' } };
    assert.equal(renderProgressLine(running, 3, { ascii: true, width: 8 }), '[##......]  25% 30/120 - running - 3/s - ETA 0:30 - nodes: batch 2');
    assert.equal(renderProgressLine(running, null, { width: 4 }), '[█░░░]  25% 30/120 · running · --/s · ETA --:-- · nodes: batch 2');
    const queued = { status: 'queued', queuePosition: 3, progress: { done: 0, total: 0, percent: 0, stage: null, message: null } };
    assert.equal(renderProgressLine(queued, null, { ascii: true, width: 4 }), '[....]   0% - queued (position 3)');
    const done = { status: 'completed', progress: { done: 4, total: 4, percent: 100, stage: 'render', message: null } };
    assert.equal(renderProgressLine(done, 2, { ascii: true, width: 4 }), '[####] 100% 4/4 - completed - render');
    assert.match(renderProgressLine({ status: 'running', cancelRequested: true, progress: null }, null, { ascii: true }), /cancelling/);
  });

  it('truncates a line to the terminal width so a redraw never wraps', () => {
    assert.equal(fitToWidth('abcdefghijklmnop', 12), 'abcdefghij…');
    assert.equal(fitToWidth('short', 80), 'short');
    assert.equal(fitToWidth('anything', undefined), 'anything');
  });
});

function jobAt(status: string, done: number, total: number): Job {
  const percent = total ? Math.floor((done / total) * 100) : 0;
  return {
    id: 'j1', kind: 'workflow', status, attempt: 1, result: status === 'completed' ? { ok: true } : null,
    error: status === 'failed' ? { code: 'node_failed', message: 'node "bad" failed' } : null,
    creditsCharged: total, creditsRefunded: 0, createdAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: status === 'running' ? null : '2026-01-01T00:00:05.000Z', queuePosition: null, progress: { done, total, percent, stage: 'nodes', message: null },
  };
}

function scripted(snapshots: (Job | Error)[]): ApiClient {
  let i = 0;
  return {
    async request<T>(): Promise<T> {
      const next = snapshots[Math.min(i++, snapshots.length - 1)]!;
      if (next instanceof Error) throw next;
      return next as T;
    },
  };
}

function capture(isTTY: boolean): { io: Parameters<typeof watchJob>[3]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  let t = 0;
  return {
    io: { out: { write: (s: string) => (out += s), isTTY, columns: 200 }, err: { write: (s: string) => (err += s) }, now: () => (t += 1000), sleep: async () => undefined },
    out: () => out,
    err: () => err,
  };
}

describe('longhaul watch rendering', () => {
  const run = [jobAt('queued', 0, 4), jobAt('running', 1, 4), jobAt('running', 1, 4), jobAt('running', 3, 4), jobAt('completed', 4, 4)];

  it('not a TTY: one plain line per change, in order, no escape codes, then the result on stdout (exit 0)', async () => {
    const c = capture(false);
    const code = await watchJob(scripted(run), 'j1', { json: false, intervalMs: 1 }, c.io);
    assert.equal(code, 0);
    const lines = c.out().trimEnd().split('\n');
    assert.ok(!c.out().includes('\x1b'), 'no escape codes');
    assert.deepEqual(lines.slice(0, 4).map((l) => /\s(\d+)%/.exec(l)?.[1]), ['0', '25', '75', '100'], 'the unchanged snapshot prints nothing');
    assert.match(lines[3]!, /completed/);
    assert.deepEqual(JSON.parse(lines.slice(4).join('\n')), { ok: true });
    assert.match(c.err(), /job j1 completed in 0:05 \(4 credits\)/);
  });

  it('a TTY: redraws one line with \\r and erase-line, ends it with a newline', async () => {
    const c = capture(true);
    assert.equal(await watchJob(scripted(run), 'j1', { json: false, intervalMs: 1 }, c.io), 0);
    const [bar] = c.out().split('\n');
    assert.equal(bar!.split('\r\x1b[2K').length - 1, run.length, 'every poll redraws the same line');
    assert.match(bar!, /█{24}\] 100% 4\/4 · completed/);
  });

  it('a failed job: the error on stderr and exit 1; --json prints each changed Job as one JSON line', async () => {
    const c = capture(false);
    assert.equal(await watchJob(scripted([jobAt('running', 1, 2), jobAt('failed', 1, 2)]), 'j1', { json: false, intervalMs: 1 }, c.io), 1);
    assert.match(c.err(), /error: node_failed: node "bad" failed/);
    const j = capture(false);
    assert.equal(await watchJob(scripted([jobAt('running', 1, 2), jobAt('running', 1, 2), jobAt('cancelled', 1, 2)]), 'j1', { json: true, intervalMs: 1 }, j.io), 1);
    assert.deepEqual(j.out().trimEnd().split('\n').map((l) => (JSON.parse(l) as Job).status), ['running', 'cancelled']);
  });

  it('rides out a few network failures, gives up after five in a row', async () => {
    const blip = new NetworkError('ECONNREFUSED');
    const c = capture(false);
    assert.equal(await watchJob(scripted([jobAt('running', 0, 1), blip, blip, jobAt('completed', 1, 1)]), 'j1', { json: false, intervalMs: 1 }, c.io), 0);
    await assert.rejects(watchJob(scripted([jobAt('running', 0, 1), blip, blip, blip, blip, blip]), 'j1', { json: false, intervalMs: 1 }, capture(false).io), NetworkError);
  });
});
