/**
 * The `longhaul` CLI, spawned as a user runs it (the built dist/local/cli/longhaul.js), against the real app on the
 * local host with the official openai SDK talking to the wire-level fake: submit from a file and stdin, status, watch
 * to completion and to failure, list filters, cancel, retry, credits, --json, config from a LONGHAUL_HOME, and the
 * documented exit codes. `stats` runs against a stand-in server answering the /api/stats contract (see the test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, repoRoot } from '../support/hostProcess';
import { envWithoutLonghaul, runProcess, type ProcessRun } from '../support/runProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

const CLI = join(repoRoot, 'dist', 'local', 'cli', 'longhaul.js');

type CliRun = ProcessRun;

describe('longhaul CLI against the real app', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  let user: TestUser;
  let scratch: string;
  let emptyHome: string;

  /** Runs the CLI with a clean environment: no LONGHAUL_* from the caller, an empty LONGHAUL_HOME unless given. */
  function cli(args: string[], opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
    const env = { ...envWithoutLonghaul(), LONGHAUL_HOME: emptyHome, ...opts.env };
    return runProcess(process.execPath, [CLI, ...args], { env, cwd: scratch, stdin: opts.stdin, timeoutMs: opts.timeoutMs });
  }
  const asUser = (u: TestUser): string[] => ['--url', app.host.url, '--token', u.token];
  const asAdmin = (): string[] => ['--url', app.host.url, '--key', app.adminKey];

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'longhaul-cli-'));
    emptyHome = join(scratch, 'empty-home');
    fake = await startOpenAiFake();
    app = await startJobsApp({
      name: 'cli',
      env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', WORKER_CONCURRENCY: '2', JOB_CHUNK_CONCURRENCY: '2' },
    });
    user = await app.createUser(10_000);
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('submit from a file prints the Job; --json is exactly the API\'s Job; status --json matches GET /api/jobs/{id}', async () => {
    const human = await cli(['submit', 'workflow', join(repoRoot, 'docs', 'examples', 'workflow.json'), ...asUser(user)]);
    assert.equal(human.code, 0, human.stderr);
    const id = /^id\s+(\S+)$/m.exec(human.stdout)?.[1];
    assert.ok(id, `the job id is printed: ${human.stdout}`);
    assert.match(human.stdout, /^kind\s+workflow$/m);
    assert.match(human.stdout, /^credits\s+3 charged, 0 refunded$/m);

    const file = join(scratch, 'two.json');
    writeFileSync(file, JSON.stringify(llmNodes(2, 'file')));
    const res = await cli(['submit', 'workflow', file, '--json', '--idempotency-key', 'cli-file-1', '--priority', '5', ...asUser(user)]);
    assert.equal(res.code, 0, res.stderr);
    const job = JSON.parse(res.stdout) as JobBody & { kind: string; priority: number; idempotencyKey: string; userId: string };
    assert.equal(job.kind, 'workflow');
    assert.equal(job.creditsCharged, 2);
    assert.equal(job.priority, 5);
    assert.equal(job.idempotencyKey, 'cli-file-1');
    assert.equal(job.userId, user.id);

    await app.waitForStatus(job.id, ['completed'], 60_000);
    const status = await cli(['status', job.id, '--json', ...asUser(user)]);
    assert.equal(status.code, 0, status.stderr);
    const api = await app.api('GET', `/api/jobs/${job.id}`, user);
    assert.deepEqual(JSON.parse(status.stdout), api.body, 'status --json is the API body, field for field');
    const text = await cli(['status', job.id, ...asUser(user)]);
    assert.match(text.stdout, /^status\s+completed$/m);
    assert.match(text.stdout, /100% 2\/2/);
    assert.match(text.stdout, /^result$/m);
  });

  it('submit reads the input from stdin (piped, and with -) and from --input', async () => {
    const piped = await cli(['submit', 'workflow', '--json', ...asUser(user)], { stdin: JSON.stringify(llmNodes(1, 'stdin')) });
    assert.equal(piped.code, 0, piped.stderr);
    const dash = await cli(['submit', 'workflow', '-', '--json', ...asUser(user)], { stdin: JSON.stringify(llmNodes(1, 'dash')) });
    assert.equal(dash.code, 0, dash.stderr);
    const inline = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(1, 'inline')), '--json', ...asUser(user)]);
    assert.equal(inline.code, 0, inline.stderr);
    for (const r of [piped, dash, inline]) await app.waitForStatus((JSON.parse(r.stdout) as JobBody).id, ['completed'], 60_000);
    await eventually(async () => (fake.calls(/^stdin 0:/) === 1 && fake.calls(/^dash 0:/) === 1 && fake.calls(/^inline 0:/) === 1 ? true : undefined), 10_000, 'each input reached the model');
  });

  it('submit --watch (not a TTY) prints progress lines in order up to 100%, then the result; exit 0', async () => {
    // A workflow chunk holds up to 40 llm nodes and reports its progress when it finishes: three chunks, so the
    // bar moves in steps while the job runs.
    fake.rules.push({ match: /^watch /, delayMs: 80 });
    try {
      const res = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(120, 'watch')), '--watch', '--interval', '100', ...asUser(user)]);
      assert.equal(res.code, 0, res.stderr);
      const id = /submitted workflow job (\S+)/.exec(res.stderr)?.[1];
      assert.ok(id, res.stderr);
      assert.ok(!res.stdout.includes('\x1b') && !res.stdout.includes('\r'), 'no escape codes when stdout is not a terminal');
      const lines = res.stdout.split('\n');
      const progress = lines.filter((l) => /^\[[#.]+\]\s+\d+%/.test(l));
      const percents = progress.map((l) => Number(/\s(\d+)%/.exec(l)![1]));
      assert.ok(progress.length >= 4, `several progress lines while the job ran:\n${res.stdout}`);
      assert.deepEqual([...percents].sort((a, b) => a - b), percents, 'percent never goes back');
      assert.ok(percents.some((p) => p > 0 && p < 100), `intermediate progress was shown: ${percents.join(' ')}`);
      assert.equal(percents.at(-1), 100);
      assert.match(progress.at(-1)!, /120\/120 - completed/);
      assert.ok(progress.some((l) => / - running - \S+\/(s|min|h) - ETA \d+:\d\d/.test(l)), `running lines show rate and ETA:\n${res.stdout}`);
      assert.equal(new Set(progress).size, progress.length, 'a line only when something changed');
      const result = JSON.parse(lines.slice(progress.length).join('\n')) as unknown;
      assert.deepEqual(result, (await app.api<JobBody>('GET', `/api/jobs/${id}`, user)).body.result, 'the result is printed after the bar');
      assert.match(res.stderr, new RegExp(`job ${id} completed in \\d+:\\d\\d \\(120 credits\\)`));

      const again = await cli(['watch', id!, '--json', ...asUser(user)]);
      assert.equal(again.code, 0, 'watch of a completed job ends at once with exit 0');
      assert.deepEqual(JSON.parse(again.stdout), (await app.api('GET', `/api/jobs/${id}`, user)).body, 'watch --json prints the API Job');
    } finally {
      fake.rules.length = 0;
    }
  });

  it('submit --watch of a failing job prints the error and exits 1; retry resumes it; list filters by status and kind', async () => {
    fake.rules.push({ match: /POISON/, status: 400, message: 'This prompt is not allowed.' });
    const input = { nodes: [{ id: 'ok', type: 'llm', prompt: 'fine' }, { id: 'bad', type: 'llm', prompt: 'POISON {{ok}}', inputs: ['ok'] }] };
    const res = await cli(['submit', 'workflow', '--input', JSON.stringify(input), '--watch', '--interval', '100', ...asUser(user)]);
    fake.rules.length = 0;
    assert.equal(res.code, 1, `a failed job exits 1: ${res.stderr}`);
    const id = /submitted workflow job (\S+)/.exec(res.stderr)?.[1];
    assert.ok(id);
    assert.match(res.stderr, new RegExp(`job ${id} failed`));
    assert.match(res.stderr, /error: .*not allowed/);
    assert.match(res.stdout, / - failed/);

    const failedList = await cli(['list', '--status', 'failed', '--kind', 'workflow', '--json', ...asUser(user)]);
    assert.equal(failedList.code, 0, failedList.stderr);
    const page = JSON.parse(failedList.stdout) as { jobs: (JobBody & { kind: string })[]; nextCursor: string | null };
    assert.deepEqual(page.jobs.map((j) => j.id), [id]);
    assert.deepEqual(page, (await app.api('GET', '/api/jobs?status=failed&kind=workflow', user)).body);
    const none = await cli(['list', '--status', 'failed', '--kind', 'image_generation', ...asUser(user)]);
    assert.equal(none.stdout.trim(), 'no jobs');
    const table = await cli(['list', '--limit', '2', ...asUser(user)]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+KIND\s+STATUS\s+PROGRESS\s+CREATED$/m);
    assert.equal(table.stdout.trim().split('\n').length, 3, 'header and two jobs');
    assert.match(table.stderr, /more: longhaul list --cursor \S+/);

    const retry = await cli(['retry', id!, '--watch', '--interval', '100', ...asUser(user)]);
    assert.equal(retry.code, 0, retry.stderr);
    const job = (await app.api<JobBody>('GET', `/api/jobs/${id}`, user)).body;
    assert.equal(job.status, 'completed');
    assert.equal(job.attempt, 2);
    const again = await cli(['retry', id!, ...asUser(user)]);
    assert.equal(again.code, 7, 'retry of a completed job is a conflict (409)');
    assert.match(again.stderr, /conflict \(HTTP 409\)/);
  });

  it('cancel stops a running job; a second cancel is a conflict (exit 7); watch of a cancelled job exits 1', async () => {
    fake.rules.push({ match: /^cancel /, delayMs: 60 });
    try {
      const submitted = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(200, 'cancel')), '--json', ...asUser(user)]);
      const id = (JSON.parse(submitted.stdout) as JobBody).id;
      await eventually(async () => (fake.calls(/^cancel /) > 0 ? true : undefined), 30_000, 'the job started');
      const res = await cli(['cancel', id, '--json', ...asUser(user)]);
      assert.equal(res.code, 0, res.stderr);
      const body = JSON.parse(res.stdout) as JobBody & { cancelRequested: boolean };
      assert.ok(body.status === 'cancelled' || body.cancelRequested, `cancel answered ${res.stdout}`);
      const watched = await cli(['watch', id, '--interval', '100', ...asUser(user)]);
      assert.equal(watched.code, 1, watched.stderr);
      assert.match(watched.stderr, new RegExp(`job ${id} cancelled`));
      const again = await cli(['cancel', id, ...asUser(user)]);
      assert.equal(again.code, 7);
    } finally {
      fake.rules.length = 0;
    }
  });

  it('credits: --json matches GET /api/credits; the text shows the balance and ledger', async () => {
    const res = await cli(['credits', '--json', ...asUser(user)]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), (await app.api('GET', '/api/credits', user)).body);
    const text = await cli(['credits', ...asUser(user)]);
    const balance = (JSON.parse(res.stdout) as { balance: number }).balance;
    assert.match(text.stdout, new RegExp(`^balance\\s+${balance}$`, 'm'));
    assert.match(text.stdout, /^CREATED\s+ENTRY\s+AMOUNT\s+BALANCE\s+JOB\s+REASON$/m);
    assert.match(text.stdout, /charge\s+-\d+/);
  });

  it('exit codes: 3 not found, 4 bad credentials, 5 insufficient credits, 2 bad usage or invalid input, 6 network', async () => {
    const missing = await cli(['status', '00000000-0000-4000-8000-000000000000', '--json', ...asUser(user)]);
    assert.equal(missing.code, 3);
    assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'not_found', '--json prints the API error body');
    assert.match(missing.stderr, /not_found \(HTTP 404\)/);

    const other = await app.createUser(5);
    const mine = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(1, 'mine')), '--json', ...asUser(user)]);
    assert.equal((await cli(['status', (JSON.parse(mine.stdout) as JobBody).id, ...asUser(other)])).code, 3, 'someone else\'s job is not found');

    const badToken = await cli(['list', '--url', app.host.url, '--token', 'not-a-jwt']);
    assert.equal(badToken.code, 4);
    assert.match(badToken.stderr, /unauthorized \(HTTP 401\)/);
    assert.equal((await cli(['list', '--url', app.host.url, '--key', 'wrong-key'])).code, 4);
    assert.equal((await cli(['credits', ...asAdmin()])).code, 4, 'credits is for a user, not the admin key');

    const poor = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(6, 'poor')), ...asUser(other)]);
    assert.equal(poor.code, 5);
    assert.match(poor.stderr, /insufficient_credits \(HTTP 402\)/);

    const invalid = await cli(['submit', 'workflow', '--input', '{"nodes":[{"id":"a","type":"llm","prompt":"{{b}}","inputs":["b"]}]}', ...asUser(user)]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /invalid_input \(HTTP 400\)/);
    assert.match(invalid.stderr, /input\.nodes\[0\]\.inputs\[0\]: unknown node "b"/, 'the field issues are listed');

    for (const args of [['frobnicate'], ['status'], ['status', 'a', 'b'], ['list', '--bogus'], ['submit', 'workflow', '--input', '{not json'], ['submit', 'workflow', join(scratch, 'nope.json')], ['watch', 'x', '--interval', 'soon']]) {
      const r = await cli([...args, ...asUser(user)]);
      assert.equal(r.code, 2, `${args.join(' ')} is a usage error: ${r.stderr}`);
      assert.match(r.stderr, /usage: longhaul|unknown command/);
    }
    assert.equal((await cli(['status', 'x'])).code, 2, 'no server configured is a usage error');

    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const down = await cli(['status', 'x', '--url', `http://127.0.0.1:${closed}`, '--token', user.token]);
    assert.equal(down.code, 6);
    assert.match(down.stderr, /ECONNREFUSED/);

    const help = await cli(['watch', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: longhaul watch <id>/);
  });

  it('reads the server, the demo user and the admin key from $LONGHAUL_HOME/local.json', async () => {
    const home = join(scratch, 'home');
    const demo = await app.createUser(100);
    const other = await app.createUser(100);
    const otherJob = await app.api<JobBody>('POST', '/api/jobs', other, { kind: 'workflow', input: llmNodes(1, 'other') });
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home);
    writeFileSync(join(home, 'local.json'), JSON.stringify({ baseUrl: app.host.url, adminKey: app.adminKey, webhookSecret: 'x', jwtSecret: 'y', demoUser: { id: demo.id, token: demo.token } }));

    const submitted = await cli(['submit', 'workflow', '--input', JSON.stringify(llmNodes(1, 'home')), '--json'], { env: { LONGHAUL_HOME: home } });
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.equal((JSON.parse(submitted.stdout) as { userId: string }).userId, demo.id, 'the demo user is the default identity');
    const credits = await cli(['credits', '--json'], { env: { LONGHAUL_HOME: home } });
    assert.equal((JSON.parse(credits.stdout) as { balance: number }).balance, 99);
    assert.equal((await cli(['status', otherJob.body.id], { env: { LONGHAUL_HOME: home } })).code, 3, 'the demo user cannot see another user\'s job');
    const admin = await cli(['status', otherJob.body.id, '--admin', '--json'], { env: { LONGHAUL_HOME: home } });
    assert.equal(admin.code, 0, admin.stderr);
    assert.equal((JSON.parse(admin.stdout) as { userId: string }).userId, other.id, '--admin uses adminKey');
    // The README's command-line block, run as written (npm run from the clone) against this local.json.
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const block = /<!-- cli-watch -->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = block.split('\n').filter((l) => l.startsWith('npm run longhaul -- '));
    assert.ok(commands.length >= 2 && /submit workflow \S+ --watch$/.test(commands[0]!), `README shows the CLI: ${block}`);
    for (const line of commands) {
      const [npm, ...args] = line.split(' ');
      const run = await runProcess(npm!, args, { cwd: repoRoot, env: { ...process.env, LONGHAUL_HOME: home }, timeoutMs: 120_000 });
      assert.equal(run.code, 0, `${line}: ${run.stderr}`);
      if (line.includes('--watch')) {
        assert.match(run.stdout, /^\[#{24}\] 100% 5\/5 - completed - nodes$/m);
        assert.match(run.stderr, /completed in \d+:\d\d \(3 credits\)/);
        assert.match(run.stdout, /"post": "# fake openai answer to: Write a title about tidal energy/);
      }
      if (line.endsWith('--json')) JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    }

    // Environment variables win over local.json.
    const envWins = await cli(['credits', '--json'], { env: { LONGHAUL_HOME: home, LONGHAUL_TOKEN: other.token } });
    assert.equal((JSON.parse(envWins.stdout) as { balance: number }).balance, 99, 'LONGHAUL_TOKEN (the other user, 99) is used instead of the demo user (96 after the README job)');
  });

  it('stats: GET /api/stats with the admin key by default, contract fields in text, the body as-is with --json', async () => {
    // /api/stats is built in parallel on another branch; this stand-in answers its contract (docs: the lead's brief).
    const body = {
      generatedAt: '2026-12-02T15:00:00.000Z',
      jobs: {
        byStatus: { pending: 1, queued: 2, running: 3, completed: 40, failed: 5, cancelled: 6 },
        byKindStatus: [{ kind: 'workflow', status: 'completed', count: 40 }, { kind: 'rag_ingestion', status: 'failed', count: 5 }],
      },
      queue: { name: 'jobs', depth: 7, poisonName: 'jobs-poison', poisonDepth: null },
      throughput: { windowMinutes: 60, completed: 40, failed: 5, perMinute: Array.from({ length: 60 }, (_, i) => ({ minute: new Date(Date.UTC(2026, 11, 2, 14, i)).toISOString(), completed: i % 7, failed: i % 11 === 0 ? 1 : 0 })) },
      usage: [{ kind: 'workflow', jobs: 45, requests: 120, inputTokens: 3400, outputTokens: 5600 }],
      rateLimiter: [{ key: 'openai:text', tokens: 12, capacity: 60, updatedAt: '2026-12-02T14:59:58.000Z' }],
      extra: 'fields beyond the contract pass through --json',
    };
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['x-functions-key'] as string | undefined);
      const ok = req.url === '/api/stats' && req.headers['x-functions-key'] === 'stats-admin';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? body : { error: { code: 'unauthorized', message: 'admin only' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const json = await cli(['stats', '--json', '--url', url], { env: { LONGHAUL_KEY: 'stats-admin', LONGHAUL_TOKEN: 'user-token' } });
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), body);
      assert.equal(seen[0], 'stats-admin', 'stats sends the admin key even when a user token is configured');
      const text = await cli(['stats', '--url', url, '--key', 'stats-admin']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^jobs\s+pending 1 · queued 2 · running 3 · completed 40 · failed 5 · cancelled 6$/m);
      assert.match(text.stdout, /^queue\s+jobs 7 waiting · jobs-poison unknown$/m);
      assert.match(text.stdout, /^last 60m\s+40 completed · 5 failed$/m);
      assert.match(text.stdout, /^per minute\s+\|.{60}\|$/m);
      assert.match(text.stdout, /^rag_ingestion\s+failed\s+5$/m);
      assert.match(text.stdout, /^workflow\s+45\s+120\s+3400\s+5600$/m);
      assert.match(text.stdout, /^openai:text\s+tokens=12 capacity=60/m);
      assert.equal((await cli(['stats', '--url', url, '--key', 'nope'])).code, 4);
    } finally {
      server.close();
    }
  });
});
