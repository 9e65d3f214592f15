/**
 * Property-based fuzzing of the whole HTTP API over real HTTP against the real app on the local host: 10,000 cases
 * (FUZZ_CASES) across every registered route — the webhook, job submission for every kind, listing with filters and
 * cursors, a job's results, cancel, retry, files, credits and RAG search — with hostile strings, broken JSON, edge
 * numbers and forged credentials. Properties: no 5xx ever; every answer is one the contract lists for the route;
 * another user's jobs never appear; and afterwards exactly the accepted submissions exist, were charged, have an
 * outbox row and a queue message — nothing for rejected input. The queue consumer and the sweeper are disabled
 * (AzureWebJobs.<name>.Disabled) so the queue depth is exact. Seed printed; FUZZ_SEED replays.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { signUserToken } from '../../local/supabase/demoUser';
import { validateSubmission } from '../../shared/jobs/jobStore';
import { testStorageConnectionString } from '../support/database';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';
import { edgeNumber, FUZZ_SEED, junkJson, KIND_NAMES, kindInputs, maybe, nastyString } from './arbitraries';

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const CONCURRENCY = 8;
const FUZZER_CREDITS = 1_000_000;

type Who = 'user' | 'poor' | 'admin' | 'none' | 'forged';
type Route = 'webhook' | 'submit' | 'list' | 'get' | 'results' | 'cancel' | 'retry' | 'file' | 'credits' | 'rag' | 'health' | 'unrouted';

interface Case {
  route: Route;
  method: string;
  path: string;
  who: Who;
  /** Index into the forged credential list (who = forged). */
  forged?: number;
  /** Webhook: which secret to send. */
  secret?: 'right' | 'wrong' | 'none' | 'case' | 'prefix';
  body?: string;
  contentType?: string;
  /** The parsed submission, to check acceptance against the app's own validation. */
  submission?: { kind: unknown; input: unknown };
}

const UUID_ARB = fc.uuid({ version: 4 });
const b64 = (s: string): string => Buffer.from(s).toString('base64url');
/** A path segment; lone surrogates (which no URL can carry) become U+FFFD. */
function segment(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += s.slice(i, i + 2);
      i++;
    } else out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : s[i]!;
  }
  return encodeURIComponent(out);
}

/** A JSON text, or something that is not JSON at all. */
function bodyOf(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":', 'null', '[]', '"x"', '{"kind":"workflow","input":{"nodes":[', '\u0000', '\ufeff{}') },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => `{"kind":"workflow","input":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`) },
  );
}

const who = fc.constantFrom<Who>('user', 'user', 'user', 'user', 'poor', 'admin', 'none', 'forged');

function cases(victimJobs: string[], fuzzerId: string): fc.Arbitrary<Case> {
  const victimOrRandomId = fc.oneof(fc.constantFrom(...victimJobs), UUID_ARB, nastyString());
  const idPath = victimOrRandomId.map((id) => segment(id) || 'x');
  const query = (fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> =>
    fc
      .tuple(fc.record(fields, { requiredKeys: [] }), fc.option(fc.tuple(nastyString(), nastyString()), { freq: 5 }))
      .map(([q, extra]) => {
        const params = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => typeof e[1] === 'string'));
        if (extra) params.append(extra[0], extra[1]);
        const s = params.toString();
        return s ? `?${s}` : '';
      });
  const cursorArb = fc.oneof(
    nastyString(),
    fc.tuple(nastyString(), fc.oneof(UUID_ARB, nastyString())).map(([a, b]) => b64(JSON.stringify([a, b]))),
    fc.tuple(fc.constantFrom('2026-12-02 10:00:00+00', '2026-13-45 99:99', 'infinity', 'epoch', '1', "'; select 1; --", '\u0000'), UUID_ARB).map(([a, b]) => b64(JSON.stringify([a, b]))),
    junkJson().map((v) => b64(JSON.stringify(v) ?? '')),
  );
  const numText = fc.oneof(edgeNumber().map(String), nastyString());
  const good = (ok: fc.Arbitrary<string>, bad: fc.Arbitrary<string>, okWeight = 5): fc.Arbitrary<string> => fc.oneof({ weight: okWeight, arbitrary: ok }, { weight: 1, arbitrary: bad });

  const submission = fc.oneof(
    ...KIND_NAMES.map((kind) =>
      fc.record(
        {
          kind: fc.oneof({ weight: 12, arbitrary: fc.constant(kind as unknown) }, { weight: 1, arbitrary: junkJson() }),
          input: kindInputs[kind]!,
          idempotencyKey: maybe(fc.string({ minLength: 1, maxLength: 20 })),
          priority: maybe(fc.integer({ min: -100, max: 100 })),
          userId: fc.oneof(fc.constant(fuzzerId), fc.constant(fuzzerId), UUID_ARB, nastyString()),
        },
        { requiredKeys: ['kind', 'input'] },
      ),
    ),
    fc.record({ kind: nastyString(), input: junkJson() }),
  );
  const webhookRecord = fc.record({ id: maybe(UUID_ARB, 4), attempt: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, fc.constantFrom(2 ** 31, 2 ** 53, 0, -1, 1.5), edgeNumber(), junkJson()), status: maybe(fc.constantFrom('pending', 'queued', 'failed'), 4) }, { requiredKeys: [] });
  const webhookBody = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: maybe(fc.constantFrom('INSERT', 'UPDATE', 'DELETE')), table: maybe(fc.constant('jobs')), schema: maybe(fc.constant('public')), record: maybe(webhookRecord), old_record: maybe(webhookRecord) }, { requiredKeys: ['type', 'table', 'schema', 'record'] }) },
    { weight: 1, arbitrary: junkJson() },
  );

  const withAuth = <T extends Omit<Case, 'who' | 'forged'>>(arb: fc.Arbitrary<T>, whoArb: fc.Arbitrary<Who> = who): fc.Arbitrary<Case> =>
    fc.tuple(arb, whoArb, fc.nat(7)).map(([c, w, f]) => ({ ...c, who: w, ...(w === 'forged' ? { forged: f } : {}) }));

  return fc.oneof(
    {
      weight: 15,
      arbitrary: fc
        .tuple(fc.constantFrom<NonNullable<Case['secret']>>('right', 'right', 'right', 'right', 'wrong', 'none', 'case', 'prefix'), bodyOf(webhookBody), fc.constantFrom('application/json', 'text/plain', ''))
        .map(([secret, body, contentType]): Case => ({ route: 'webhook', method: 'POST', path: '/api/webhooks/supabase', who: 'none', secret, body, contentType })),
    },
    {
      weight: 36,
      arbitrary: withAuth(
        fc.oneof({ weight: 10, arbitrary: submission.map((s) => ({ text: JSON.stringify(s), submission: s as { kind: unknown; input: unknown } })) }, { weight: 1, arbitrary: bodyOf(junkJson()).map((text) => ({ text, submission: undefined })) }).map((b) => ({
          route: 'submit' as const,
          method: 'POST',
          path: '/api/jobs',
          body: b.text,
          submission: b.submission,
        })),
      ),
    },
    {
      weight: 12,
      arbitrary: withAuth(
        query({ status: good(fc.constantFrom('pending', 'queued', 'failed'), nastyString()), kind: good(fc.constantFrom(...KIND_NAMES), nastyString()), limit: good(fc.integer({ min: 1, max: 100 }).map(String), numText), cursor: good(fc.constant(''), cursorArb, 1), userId: good(UUID_ARB, nastyString()) }).map((q) => ({
          route: 'list' as const,
          method: 'GET',
          path: `/api/jobs${q}`,
        })),
      ),
    },
    { weight: 6, arbitrary: withAuth(idPath.map((id) => ({ route: 'get' as const, method: 'GET', path: `/api/jobs/${id}` }))) },
    {
      weight: 6,
      arbitrary: withAuth(fc.tuple(idPath, query({ cursor: good(fc.nat().map(String), nastyString()), limit: good(fc.integer({ min: 1, max: 1000 }).map(String), numText) })).map(([id, q]) => ({ route: 'results' as const, method: 'GET', path: `/api/jobs/${id}/results${q}` }))),
    },
    // Cancel and retry write: never with the admin key, which may legitimately act on the victim's jobs.
    { weight: 4, arbitrary: withAuth(fc.tuple(idPath, bodyOf(junkJson())).map(([id, body]) => ({ route: 'cancel' as const, method: 'POST', path: `/api/jobs/${id}/cancel`, body })), fc.constantFrom<Who>('user', 'poor', 'none', 'forged')) },
    { weight: 4, arbitrary: withAuth(fc.tuple(idPath, bodyOf(junkJson())).map(([id, body]) => ({ route: 'retry' as const, method: 'POST', path: `/api/jobs/${id}/retry`, body })), fc.constantFrom<Who>('user', 'poor', 'none', 'forged')) },
    { weight: 2, arbitrary: withAuth(fc.tuple(idPath, nastyString()).map(([id, name]) => ({ route: 'file' as const, method: 'GET', path: `/api/jobs/${id}/files/${segment(name) || 'x'}` }))) },
    { weight: 2, arbitrary: withAuth(query({ limit: numText, userId: nastyString() }).map((q) => ({ route: 'credits' as const, method: 'GET', path: `/api/credits${q}` }))) },
    {
      weight: 7,
      arbitrary: withAuth(
        bodyOf(fc.oneof({ weight: 4, arbitrary: fc.record({ query: maybe(fc.string({ minLength: 1, maxLength: 60 }), 4), k: maybe(fc.integer({ min: 1, max: 100 }), 4), documentId: maybe(nastyString(), 4), userId: maybe(UUID_ARB, 4) }, { requiredKeys: ['query'] }) }, { weight: 1, arbitrary: junkJson() })).map((body) => ({
          route: 'rag' as const,
          method: 'POST',
          path: '/api/rag/search',
          body,
        })),
      ),
    },
    { weight: 1, arbitrary: withAuth(query({ x: nastyString() }).map((q) => ({ route: 'health' as const, method: 'GET', path: `/api/health${q}` }))) },
    {
      weight: 2,
      arbitrary: withAuth(
        fc.tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH', 'GET', 'POST'), fc.constantFrom('/api/jobs/x/y/z', '/api/webhooks/supabase', '/api/credits', '/api/stat', '/api/rag/search', '/api/jobs'), nastyString()).map(([method, path, tail]) => ({
          route: 'unrouted' as const,
          method: path === '/api/jobs/x/y/z' || path === '/api/stat' ? method : method === 'GET' ? (path === '/api/webhooks/supabase' || path === '/api/rag/search' ? 'GET' : 'DELETE') : method === 'POST' && (path === '/api/credits') ? 'POST' : 'DELETE',
          path: path === '/api/stat' ? `${path}/${segment(tail)}` : path,
        })),
      ),
    },
  );
}

/** What the contract allows each route to answer (401 for bad credentials is checked separately). */
function allowed(c: Case): number[] {
  switch (c.route) {
    case 'webhook':
      return c.secret === 'right' ? [202, 400] : [401];
    case 'submit':
      // The poor user (no credits) gets 202 only for a free job (a workflow without llm nodes); checked below.
      return [202, 400, 402];
    case 'list':
      return [200, 400];
    case 'get':
    case 'file':
      return c.who === 'admin' ? [200, 404] : [404];
    case 'results':
      return c.who === 'admin' ? [200, 400, 404] : [400, 404];
    case 'cancel':
    case 'retry':
      return [404];
    case 'credits':
      return c.who === 'admin' ? [401] : [200];
    case 'rag':
      return [200, 400];
    case 'health':
      return [200];
    case 'unrouted':
      return [404];
  }
}

describe(`API fuzzing over HTTP (seed ${FUZZ_SEED}, ${CASES} cases; FUZZ_SEED / FUZZ_CASES to replay)`, () => {
  let app: JobsApp;
  let fuzzer: TestUser;
  let poor: TestUser;
  let victim: TestUser;
  let victimJobs: string[];
  let forged: string[];

  before(async () => {
    app = await startJobsApp({
      name: 'security_fuzz',
      bridge: false,
      // Accepted jobs stay in the queue (exact depth), and nothing re-enqueues behind the test's back.
      env: { 'AzureWebJobs.jobsQueue.Disabled': 'true', 'AzureWebJobs.sweeper.Disabled': 'true', 'AzureWebJobs.jobsPoison.Disabled': 'true', LONGHAUL_LOG_LEVEL: 'error' },
    });
    fuzzer = await app.createUser(FUZZER_CREDITS);
    poor = await app.createUser(0);
    victim = await app.createUser(100);
    // The victim's jobs are inserted as the service role (no webhook, no queue message): the fuzzer must never see them.
    victimJobs = [];
    for (let i = 0; i < 3; i++) {
      const { rows } = await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [JSON.stringify({ nodes: [{ id: 'a', type: 'llm', prompt: `secret ${i}` }] }), victim.id]);
      victimJobs.push(rows[0]!.id);
    }
    const key = (s: string) => new TextEncoder().encode(s);
    const noneToken = `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: fuzzer.id, role: 'authenticated', exp: 9e9 }))}.`;
    const [h, , s] = fuzzer.token.split('.');
    forged = [
      `Bearer ${await signUserToken(fuzzer.id, 'not-the-project-secret-but-long-enough')}`,
      `Bearer ${noneToken}`,
      `Bearer ${h}.${b64(JSON.stringify({ sub: victim.id, role: 'authenticated', exp: 9e9 }))}.${s}`,
      `Bearer ${await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setSubject(fuzzer.id).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key(app.jwtSecret))}`,
      `Bearer ${await new SignJWT({ role: 'anon' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key(app.jwtSecret))}`,
      'Bearer ',
      `Basic ${b64('admin:admin')}`,
      'x-functions-key',
    ];
  });
  after(async () => {
    await app?.stop();
  });

  it('answers every case with a contract status (never 5xx), leaks no other user\'s job, and charges and enqueues exactly the accepted submissions', async () => {
    const started = Date.now();
    const all = fc.sample(cases(victimJobs, fuzzer.id), { seed: FUZZ_SEED, numRuns: CASES });
    const failures: string[] = [];
    const accepted = new Map<string, { credits: number; owner: string }>();
    const counts = new Map<string, number>();
    const fail = (i: number, c: Case, what: string): void => {
      if (failures.length < 20) failures.push(`case #${i} ${c.method} ${c.path.slice(0, 200)} as ${c.who}${c.secret ? ` secret=${c.secret}` : ''}: ${what}; body ${String(c.body).slice(0, 300)}`);
      else failures.push('…');
    };

    const send = async (i: number, c: Case): Promise<void> => {
      const headers: Record<string, string> = {};
      if (c.contentType !== '') headers['content-type'] = c.contentType ?? 'application/json';
      if (c.who === 'user') headers.authorization = `Bearer ${fuzzer.token}`;
      else if (c.who === 'poor') headers.authorization = `Bearer ${poor.token}`;
      else if (c.who === 'admin') headers['x-functions-key'] = app.adminKey;
      else if (c.who === 'forged') {
        const cred = forged[c.forged ?? 0]!;
        if (cred === 'x-functions-key') headers['x-functions-key'] = `${app.adminKey}x`;
        else headers.authorization = cred;
      }
      if (c.secret === 'right') headers['x-webhook-secret'] = app.webhookSecret;
      else if (c.secret === 'wrong') headers['x-webhook-secret'] = 'a-wrong-secret-of-plausible-length';
      else if (c.secret === 'case') headers['x-webhook-secret'] = app.webhookSecret.toUpperCase();
      else if (c.secret === 'prefix') headers['x-webhook-secret'] = app.webhookSecret.slice(0, -1);
      const res = await fetch(`${app.host.url}${c.path}`, { method: c.method, headers, body: c.body });
      const text = await res.text();
      counts.set(`${c.route} ${res.status}`, (counts.get(`${c.route} ${res.status}`) ?? 0) + 1);
      if (res.status >= 500) return fail(i, c, `answered ${res.status} ${text.slice(0, 300)}`);
      const authenticated = c.route !== 'webhook' && c.route !== 'health' && c.route !== 'unrouted';
      const expected = authenticated && (c.who === 'none' || c.who === 'forged') ? [401] : allowed(c);
      if (!expected.includes(res.status)) return fail(i, c, `answered ${res.status} (expected ${expected.join('|')}): ${text.slice(0, 300)}`);
      let body: Record<string, unknown> | null = null;
      if (text && res.headers.get('content-type')?.includes('json')) body = JSON.parse(text) as Record<string, unknown>;
      if (res.status >= 400 && res.status !== 404 && res.status !== 401 && c.route !== 'unrouted') {
        const error = body?.error as { code?: unknown; message?: unknown } | undefined;
        if (typeof error?.code !== 'string' || typeof error.message !== 'string') return fail(i, c, `error body is not {error: {code, message}}: ${text.slice(0, 200)}`);
      }
      if (c.who !== 'admin' && (text.includes(victim.id) || victimJobs.some((id) => text.includes(id) && !c.path.includes(id)))) return fail(i, c, 'the answer shows the victim\'s job or id');
      if (c.route === 'submit' && res.status === 202) {
        const job = body as { id: string; creditsCharged: number; userId: string };
        const owner = c.who === 'poor' ? poor.id : fuzzer.id;
        if (job.userId !== owner) return fail(i, c, `accepted for ${job.userId}, not the caller ${owner}`);
        if (c.who === 'poor' && job.creditsCharged !== 0) return fail(i, c, `charged ${job.creditsCharged} credits to a user who has none`);
        let valid = true;
        try {
          validateSubmission(c.submission as { kind: string; input: unknown });
        } catch {
          valid = false;
        }
        if (!valid) return fail(i, c, 'accepted an input the kind rejects');
        // A repeated idempotency key answers the same job again; it is charged once.
        accepted.set(job.id, { credits: job.creditsCharged, owner });
      }
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < all.length) {
          const i = next++;
          await send(i, all[i]!).catch((err: unknown) => fail(i, all[i]!, `request failed: ${(err as Error).message}`));
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`fuzz seed ${FUZZ_SEED}: ${all.length} cases in ${seconds.toFixed(1)} s, ${accepted.size} submissions accepted; statuses: ${[...counts].sort().map(([k, n]) => `${k}×${n}`).join(', ')}`);
    assert.deepEqual(failures, [], `replay with FUZZ_SEED=${FUZZ_SEED}`);
    assert.ok(accepted.size > 0 && (counts.get('submit 400') ?? 0) > 0, 'the fuzz reached both accepted and rejected submissions');

    // Exactly the accepted submissions exist, owned by who submitted them, and nothing of the victim's changed.
    const jobs = await app.pool.query<{ id: string; user_id: string; status: string; attempt: number; credits_charged: string }>('select id, user_id, status, attempt, credits_charged from public.jobs');
    const fuzzed = jobs.rows.filter((r) => r.user_id !== victim.id);
    assert.deepEqual(fuzzed.map((r) => `${r.id}:${r.user_id}:${Number(r.credits_charged)}`).sort(), [...accepted].map(([id, a]) => `${id}:${a.owner}:${a.credits}`).sort(), 'jobs in the database = accepted submissions');
    assert.ok(fuzzed.every((r) => r.status === 'queued' && r.attempt === 1), 'accepted jobs were queued once and not otherwise touched');
    assert.deepEqual(jobs.rows.filter((r) => r.user_id === victim.id).map((r) => `${r.id}:${r.status}:${r.attempt}`).sort(), victimJobs.map((id) => `${id}:pending:1`).sort());

    // Charged exactly once per accepted job and nothing else: no refunds, no grants, no charge without a job.
    const ledger = await app.pool.query<{ user_id: string; job_id: string | null; entry: string; amount: string }>('select user_id, job_id, entry, amount from public.credit_ledger order by id');
    const charges = ledger.rows.filter((r) => r.entry === 'charge' && r.user_id !== victim.id && Number(r.amount) !== 0);
    assert.deepEqual(charges.map((r) => `${r.job_id}:${r.user_id}:${-Number(r.amount)}`).sort(), [...accepted].filter(([, a]) => a.credits !== 0).map(([id, a]) => `${id}:${a.owner}:${a.credits}`).sort());
    assert.deepEqual(ledger.rows.filter((r) => r.entry !== 'charge').map((r) => `${r.user_id}:${r.entry}:${r.amount}`).sort(), [`${fuzzer.id}:grant:${FUZZER_CREDITS}`, `${victim.id}:grant:100`].sort());
    const balances = await app.pool.query<{ user_id: string; balance: string }>('select user_id, balance from public.credit_accounts');
    const balance = (id: string): number => Number(balances.rows.find((r) => r.user_id === id)?.balance ?? 0);
    assert.equal(balance(fuzzer.id), FUZZER_CREDITS - [...accepted.values()].reduce((sum, a) => sum + a.credits, 0));
    assert.equal(balance(poor.id), 0);
    assert.equal(balance(victim.id), 97);

    // One outbox row per accepted job (and the victim's), each accepted one enqueued once; the queue holds exactly those.
    const outbox = await app.pool.query<{ job_id: string; enqueue_count: number }>('select job_id, enqueue_count from longhaul.job_deliveries');
    assert.deepEqual(outbox.rows.filter((r) => !victimJobs.includes(r.job_id)).map((r) => `${r.job_id}:${r.enqueue_count}`).sort(), [...accepted.keys()].map((id) => `${id}:1`).sort());
    assert.ok(outbox.rows.filter((r) => victimJobs.includes(r.job_id)).every((r) => r.enqueue_count === 0), 'no fuzz case enqueued the victim\'s jobs');
    const queue = new QueueClient(testStorageConnectionString(), app.queueName);
    const { approximateMessagesCount } = await queue.getProperties();
    assert.equal(approximateMessagesCount, accepted.size, 'queue depth = accepted submissions');
    const peeked = await queue.peekMessages({ numberOfMessages: 32 });
    for (const m of peeked.peekedMessageItems) {
      const msg = JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as { jobId: string; attempt: number };
      assert.ok(accepted.has(msg.jobId) && msg.attempt === 1, `queue message ${JSON.stringify(msg)} is an accepted submission`);
    }
    const poison = new QueueClient(testStorageConnectionString(), `${app.queueName}-poison`);
    assert.equal(await poison.exists() ? (await poison.getProperties()).approximateMessagesCount : 0, 0);
  });
});
