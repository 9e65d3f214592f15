/**
 * The `longhaul` CLI, spawned as a user runs it, against a stand-in API whose every string is hostile (a job error, a
 * stage message, model names in usage and limiter keys, an API error): what reaches the terminal shows escape
 * sequences, CR and newlines as text and never as bytes a terminal acts on; --json stays the API's exact JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../support/hostProcess';
import { envWithoutLonghaul, runProcess, type ProcessRun } from '../support/runProcess';

const CLI = join(repoRoot, 'dist', 'local', 'cli', 'longhaul.js');

// Set the window title; clear the screen; a one-byte CSI (C1); CR + LF + a fake success line; a right-to-left override.
const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J\x1b[H';
const C1_CSI = '\u009b31m';
const FAKE_LINE = '\r\njob 00000000 completed in 0:01 (0 credits)\n';
const HOSTILE = `${TITLE}${CLEAR}${C1_CSI} boom${FAKE_LINE}\u202eevil`;

// Anything a terminal acts on: C0 controls but the layout's own newline, DEL, C1, bidi overrides.
// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const ACTING = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const job = {
  id: 'j-1',
  kind: `workflow${TITLE}`,
  status: 'failed',
  attempt: 1,
  progress: { done: 1, total: 2, percent: 50, stage: `nodes${CLEAR}`, message: HOSTILE },
  result: { text: HOSTILE },
  error: { code: `node_failed${C1_CSI}`, message: HOSTILE },
  creditsCharged: 2,
  creditsRefunded: 1,
  createdAt: '2026-12-01T00:00:00.000Z',
  startedAt: '2026-12-01T00:00:00.000Z',
  finishedAt: '2026-12-01T00:00:05.000Z',
  queuePosition: null,
  usage: { [`gpt${TITLE}`]: 3 },
  idempotencyKey: HOSTILE,
};
const stats = {
  generatedAt: '2026-12-02T15:00:00.000Z',
  jobs: { byStatus: { failed: 1 }, byKindStatus: [{ kind: `workflow${FAKE_LINE}`, status: 'failed', count: 1 }] },
  queue: { name: `jobs${TITLE}`, depth: 0, poisonName: 'jobs-poison', poisonDepth: 0 },
  throughput: { windowMinutes: 60, completed: 0, failed: 1, perMinute: [] },
  usage: [{ kind: 'workflow', [`model${CLEAR}`]: 4 }],
  rateLimiter: [{ key: `openai:${HOSTILE}`, tokens: 1 }],
};

type CliRun = ProcessRun;

function cli(url: string, args: string[]): Promise<CliRun> {
  return runProcess(process.execPath, [CLI, ...args, '--url', url, '--token', 't'], { env: envWithoutLonghaul() });
}

function assertInert(run: CliRun, what: string): void {
  for (const [stream, text] of [['stdout', run.stdout], ['stderr', run.stderr]] as const) {
    const hit = ACTING.exec(text);
    assert.equal(hit, null, `${what} ${stream} holds U+${hit?.[0].charCodeAt(0).toString(16).padStart(4, '0')}: ${JSON.stringify(text)}`);
    assert.doesNotMatch(text, /^job 00000000 completed/m, `${what} ${stream}: no forged line`);
  }
}

describe('the CLI shows hostile API text inert', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      const [status, body] =
        req.url === '/api/jobs/j-1'
          ? [200, job]
          : req.url === '/api/stats'
            ? [200, stats]
            : req.url === '/api/jobs' || req.url?.startsWith('/api/jobs?')
              ? [200, { jobs: [job], nextCursor: HOSTILE }]
              : [404, { error: { code: 'not_found', message: HOSTILE, details: { issues: [{ path: `input${CLEAR}`, message: HOSTILE }] } } }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('status, watch, list, stats and an API error print no control bytes and no forged line', async () => {
    const status = await cli(url, ['status', 'j-1']);
    assert.equal(status.code, 0, status.stderr);
    assertInert(status, 'status');
    // Shown, not obeyed: the escapes are there as text.
    assert.match(status.stdout, /^error\s+node_failed\\x9b31m: \\x1b\]0;pwned\\x07\\x1b\[2J/m);
    assert.match(status.stdout, /\\r\\njob 00000000 completed in 0:01 \(0 credits\)\\n\\u202eevil/);
    assert.match(status.stdout, /^usage\s+gpt\\x1b\]0;pwned\\x07=3$/m);
    assert.deepEqual((JSON.parse(status.stdout.slice(status.stdout.indexOf('\nresult\n') + 8)) as { text: string }).text, HOSTILE, 'the result is still JSON, with the same value');

    const watch = await cli(url, ['watch', 'j-1', '--interval', '50']);
    assert.equal(watch.code, 1, 'a failed job');
    assertInert(watch, 'watch');
    assert.match(watch.stderr, /^error: node_failed\\x9b31m: /m);

    const list = await cli(url, ['list']);
    assert.equal(list.code, 0, list.stderr);
    assertInert(list, 'list');

    const st = await cli(url, ['stats']);
    assert.equal(st.code, 0, st.stderr);
    assertInert(st, 'stats');
    assert.match(st.stdout, /openai:\\x1b\]0;pwned\\x07/);

    const missing = await cli(url, ['status', 'nope']);
    assert.equal(missing.code, 3);
    assertInert(missing, 'an API error');
  });

  it('--json stays the API\'s exact JSON (JSON escaping is the whole of it)', async () => {
    const status = await cli(url, ['status', 'j-1', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), job);
    assertInert({ ...status, stderr: '' }, 'status --json');
    const st = await cli(url, ['stats', '--json']);
    assert.deepEqual(JSON.parse(st.stdout), stats);
  });
});
