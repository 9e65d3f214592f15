/**
 * Property-based fuzzing of the whole HTTP API over real HTTP against the real app on the local host: 10,000 cases
 * (FUZZ_CASES) across every registered route — the webhook, job submission for every kind, listing with filters and
 * cursors, a job's results, cancel, retry, files, credits and RAG search — with hostile strings, broken JSON, edge
 * numbers, forged credentials and wide JSON. Properties: no 5xx ever; every answer is one the contract lists for the
 * route; no answer to a non-admin carries another user's data (their id, job ids, idempotency keys, the marker strings
 * in their inputs, results and errors, their file and document names, their balance figures) unless the request sent
 * it; the host's peak RSS stays under HOST_PEAK_LIMIT_MB; and afterwards exactly the accepted submissions exist, were charged, have an
 * outbox row and a queue message — nothing for rejected input. The queue consumer and the sweeper are disabled
 * (AzureWebJobs.<name>.Disabled) so the queue depth is exact. Seed printed; FUZZ_SEED replays.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { QueueClient } from '@azure/storage-queue';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { signUserToken } from '../../local/supabase/demoUser';
import { validateSubmission } from '../../shared/jobs/jobStore';
import { testStorageConnectionString } from '../support/database';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';
import { edgeNumber, FUZZ_SEED, junkJson, KIND_NAMES, kindInputs, maybe, nastyString, wideSpec, wideValue, type WideSpec } from './arbitraries';

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const CONCURRENCY = 8;
const FUZZER_CREDITS = 1_000_000;
/** A balance no answer has reason to print: the figure (or one of its ledger's) in a non-admin answer is a leak. */
const VICTIM_CREDITS = 7_919;
/** The widest submission the fuzz sends (JSON text of the input's extra key). */
const WIDE_MAX_BYTES = 512 * 1024;
const HOST_PEAK_LIMIT_MB = 768;

/** What the victim has that no other user may see. */
interface VictimData {
  id: string;
  jobs: string[];
  idempotencyKeys: string[];
  fileName: string;
  documentId: string;
  marker: string;
  model: string;
}

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
  /** A workflow whose input carries a wide value under an extra key: the body is built when the case is sent. */
  wide?: WideSpec;
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

function cases(victim: VictimData, fuzzerId: string): fc.Arbitrary<Case> {
  const victimJobs = victim.jobs;
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
          // The victim's keys too: a key is the caller's own, and another user's job must never come back for it.
          idempotencyKey: fc.oneof({ weight: 3, arbitrary: maybe(fc.string({ minLength: 1, maxLength: 20 })) }, { weight: 1, arbitrary: fc.constantFrom(...victim.idempotencyKeys) }),
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
    { weight: 2, arbitrary: withAuth(fc.tuple(idPath, fc.oneof(nastyString(), fc.constant(victim.fileName))).map(([id, name]) => ({ route: 'file' as const, method: 'GET', path: `/api/jobs/${id}/files/${segment(name) || 'x'}` }))) },
    { weight: 2, arbitrary: withAuth(query({ limit: numText, userId: nastyString() }).map((q) => ({ route: 'credits' as const, method: 'GET', path: `/api/credits${q}` }))) },
    {
      weight: 7,
      arbitrary: withAuth(
        bodyOf(fc.oneof({ weight: 4, arbitrary: fc.record({ query: maybe(fc.string({ minLength: 1, maxLength: 60 }), 4), k: maybe(fc.integer({ min: 1, max: 100 }), 4), documentId: maybe(fc.oneof(nastyString(), fc.constant(victim.documentId)), 4), userId: maybe(UUID_ARB, 4) }, { requiredKeys: ['query'] }) }, { weight: 1, arbitrary: junkJson() })).map((body) => ({
          route: 'rag' as const,
          method: 'POST',
          path: '/api/rag/search',
          body,
        })),
      ),
    },
    { weight: 1, arbitrary: withAuth(query({ x: nastyString() }).map((q) => ({ route: 'health' as const, method: 'GET', path: `/api/health${q}` }))) },
    // Wide JSON in an otherwise valid workflow: the host parses and validates it, Postgres may store it.
    { weight: 1, arbitrary: withAuth(wideSpec(WIDE_MAX_BYTES).map((wide) => ({ route: 'submit' as const, method: 'POST', path: '/api/jobs', wide })), fc.constantFrom<Who>('user', 'poor')) },
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
      // 409: the idempotencyKey names an earlier submission of this user with another kind or input.
      return c.body?.includes('"idempotencyKey"') ? [202, 400, 402, 409] : [202, 400, 402];
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
  let victimData: VictimData;
  /** The victim's balance and every balance its ledger went through. */
  let victimFigures: number[];
  let victimBefore: string;
  let forged: string[];
  const hostPeak: { kb: number | null; sampledKb: number; unreadable?: string } = { kb: null, sampledKb: 0 };

  before(async () => {
    app = await startJobsApp({
      name: 'security_fuzz',
      bridge: false,
      // Accepted jobs stay in the queue (exact depth), and nothing re-enqueues behind the test's back.
      env: { 'AzureWebJobs.jobsQueue.Disabled': 'true', 'AzureWebJobs.sweeper.Disabled': 'true', 'AzureWebJobs.jobsPoison.Disabled': 'true', LONGHAUL_LOG_LEVEL: 'error' },
    });
    fuzzer = await app.createUser(FUZZER_CREDITS);
    poor = await app.createUser(0);
    victim = await app.createUser(VICTIM_CREDITS);
    // The victim's jobs are inserted as the service role (no webhook, no queue message): the fuzzer must never see them.
    // Three wait, one completed with a result and a file, one failed with an error, one made a searchable document;
    // each carries the marker, two have idempotency keys.
    const tag = randomBytes(5).toString('hex');
    victimData = { id: victim.id, jobs: [], idempotencyKeys: [`key-victim-${tag}-0`, `key-victim-${tag}-1`], fileName: `file-victim-${tag}.png`, documentId: `doc-victim-${tag}`, marker: `mark-victim-${tag}`, model: `model-victim-${tag}` };
    const insert = async (kind: string, input: unknown, key: string | null = null): Promise<string> => {
      const { rows } = await app.pool.query<{ id: string }>('insert into public.jobs (kind, input, user_id, idempotency_key) values ($1, $2, $3, $4) returning id', [kind, JSON.stringify(input), victim.id, key]);
      victimData.jobs.push(rows[0]!.id);
      return rows[0]!.id;
    };
    for (let i = 0; i < 3; i++) await insert('workflow', { nodes: [{ id: 'a', type: 'llm', prompt: `${victimData.marker} secret ${i}` }] }, victimData.idempotencyKeys[i] ?? null);
    const done = await insert('workflow', { nodes: [{ id: 'a', type: 'llm', prompt: `${victimData.marker} done` }] });
    await app.pool.query("select longhaul.start_job($1, 1, 't')", [done]);
    await app.pool.query("select longhaul.complete_job($1, 1, $2, 't')", [done, JSON.stringify({ outputs: { a: `${victimData.marker} result` }, completed: 1, files: [victimData.fileName] })]);
    await app.pool.query("insert into longhaul.job_files (job_id, name, content_type, data) values ($1, $2, 'image/png', $3)", [done, victimData.fileName, Buffer.from(victimData.marker)]);
    const failed = await insert('image_generation', { prompts: [`${victimData.marker} image`] });
    await app.pool.query("select longhaul.start_job($1, 1, 't')", [failed]);
    await app.pool.query("select longhaul.fail_job($1, 1, $2, 't')", [failed, JSON.stringify({ code: 'provider_error', message: `${victimData.marker} failed` })]);
    const rag = await insert('rag_ingestion', { documentId: victimData.documentId, segments: [{ seq: 0, text: `${victimData.marker} transcript`, startMs: 0, endMs: 1000 }] });
    await app.pool.query("select longhaul.start_job($1, 1, 't')", [rag]);
    await app.pool.query("insert into longhaul.rag_chunks (job_id, seq, user_id, document_id, segment_seq, part, text, start_ms, end_ms, embedding) values ($1, 0, $2, $3, 0, 0, $4, 0, 1000, '{0.25,0.5,0.75,1}')", [rag, victim.id, victimData.documentId, `${victimData.marker} chunk`]);
    await app.pool.query('select longhaul.rag_publish($1, $2)', [rag, victimData.model]);
    await app.pool.query("select longhaul.complete_job($1, 1, '{}'::jsonb, 't')", [rag]);
    victimJobs = victimData.jobs;
    const figures = await app.pool.query<{ n: string }>('select balance_after as n from public.credit_ledger where user_id = $1 union select balance from public.credit_accounts where user_id = $1', [victim.id]);
    victimFigures = figures.rows.map((r) => Number(r.n));
    victimBefore = await victimState();
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

  /** Everything of the victim's, read as the database owner: no fuzz case may change any of it. */
  async function victimState(): Promise<string> {
    const { rows } = await app.pool.query<{ state: string }>(
      `select jsonb_build_object(
         'jobs', (select jsonb_agg(to_jsonb(j) order by j.id) from public.jobs j where j.user_id = $1),
         'events', (select jsonb_agg(to_jsonb(e) order by e.id) from public.job_events e where e.user_id = $1),
         'account', (select to_jsonb(a) from public.credit_accounts a where a.user_id = $1),
         'ledger', (select jsonb_agg(to_jsonb(l) order by l.id) from public.credit_ledger l where l.user_id = $1),
         'deliveries', (select jsonb_agg(to_jsonb(d) order by d.job_id, d.attempt) from longhaul.job_deliveries d join public.jobs j on j.id = d.job_id where j.user_id = $1),
         'files', (select jsonb_agg(jsonb_build_object('job', f.job_id, 'name', f.name, 'data', md5(f.data)) order by f.job_id, f.name) from longhaul.job_files f join public.jobs j on j.id = f.job_id where j.user_id = $1),
         'documents', (select jsonb_agg(to_jsonb(d) order by d.document_id) from public.rag_documents d where d.user_id = $1),
         'chunks', (select jsonb_agg(to_jsonb(c) order by c.job_id, c.seq) from longhaul.rag_chunks c where c.user_id = $1)
       )::text as state`,
      [victim.id],
    );
    return rows[0]!.state;
  }

  it('answers every case with a contract status (never 5xx), leaks no other user\'s job, and charges and enqueues exactly the accepted submissions', async () => {
    const started = Date.now();
    const all = fc.sample(cases(victimData, fuzzer.id), { seed: FUZZ_SEED, numRuns: CASES });
    const secrets = [victim.id, ...victimJobs, ...victimData.idempotencyKeys, victimData.fileName, victimData.documentId, victimData.marker, victimData.model];
    const figure = (n: number): RegExp => new RegExp(`(?<![\\w.-])${n}(?![\\w.])`);
    // A victim's key the fuzzer submitted becomes a key of the fuzzer's own job too (keys are per user): from the
    // moment it is sent, the fuzzer's own answers may show it.
    const adopted = new Set<string>();
    // The host's memory: VmHWM at the end is the exact peak; samples show it was not one spike at start-up.
    const hostPid = app.host.child.pid!;
    const readKb = (field: 'VmRSS' | 'VmHWM'): number | null => {
      try {
        const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'));
        return match ? Number(match[1]) : null;
      } catch (err) {
        hostPeak.unreadable = (err as Error).message;
        return null;
      }
    };
    const sampler = setInterval(() => {
      hostPeak.sampledKb = Math.max(hostPeak.sampledKb, readKb('VmRSS') ?? 0);
    }, 250);
    const failures: string[] = [];
    const accepted = new Map<string, { credits: number; owner: string }>();
    const counts = new Map<string, number>();
    const fail = (i: number, c: Case, what: string): void => {
      if (failures.length < 20) failures.push(`case #${i} ${c.method} ${c.path.slice(0, 200)} as ${c.who}${c.secret ? ` secret=${c.secret}` : ''}: ${what}; body ${c.wide ? `wide ${JSON.stringify(c.wide)}` : String(c.body).slice(0, 300)}`);
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
      let sentBody = c.body;
      let submission = c.submission;
      if (c.wide) {
        const input = { nodes: [{ id: 'a', type: 'text', text: 'wide' }], wide: wideValue(c.wide) };
        submission = { kind: 'workflow', input };
        sentBody = JSON.stringify(submission);
      }
      if (c.route === 'submit') for (const k of victimData.idempotencyKeys) if (sentBody?.includes(k)) adopted.add(k);
      if (c.secret === 'right') headers['x-webhook-secret'] = app.webhookSecret;
      else if (c.secret === 'wrong') headers['x-webhook-secret'] = 'a-wrong-secret-of-plausible-length';
      else if (c.secret === 'case') headers['x-webhook-secret'] = app.webhookSecret.toUpperCase();
      else if (c.secret === 'prefix') headers['x-webhook-secret'] = app.webhookSecret.slice(0, -1);
      const res = await fetch(`${app.host.url}${c.path}`, { method: c.method, headers, body: sentBody });
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
      if (c.who !== 'admin') {
        // Another user's data, unless this request sent it: ids, job ids, keys, markers, names, balance figures.
        const sent = `${c.path} ${sentBody ?? ''}`;
        const seen = secrets.filter((x) => text.includes(x) && !sent.includes(x) && !adopted.has(x));
        const shown = victimFigures.filter((n) => figure(n).test(text) && !figure(n).test(sent));
        if (seen.length || shown.length) return fail(i, c, `the answer carries the victim's ${[...seen, ...shown.map((n) => `balance figure ${n}`)].join(', ')}: ${text.slice(0, 300)}`);
      }
      if (c.route === 'submit' && res.status === 202) {
        const job = body as { id: string; creditsCharged: number; userId: string };
        const owner = c.who === 'poor' ? poor.id : fuzzer.id;
        if (job.userId !== owner) return fail(i, c, `accepted for ${job.userId}, not the caller ${owner}`);
        if (c.who === 'poor' && job.creditsCharged !== 0) return fail(i, c, `charged ${job.creditsCharged} credits to a user who has none`);
        let valid = true;
        try {
          validateSubmission(submission as { kind: string; input: unknown });
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
    clearInterval(sampler);
    hostPeak.kb = readKb('VmHWM');
    const seconds = (Date.now() - started) / 1000;
    console.log(`fuzz seed ${FUZZ_SEED}: ${all.length} cases in ${seconds.toFixed(1)} s, ${accepted.size} submissions accepted; host peak RSS ${hostPeak.kb === null ? 'unreadable' : `${Math.round(hostPeak.kb / 1024)} MB`} (sampled ${Math.round(hostPeak.sampledKb / 1024)} MB); statuses: ${[...counts].sort().map(([k, n]) => `${k}×${n}`).join(', ')}`);
    assert.deepEqual(failures, [], `replay with FUZZ_SEED=${FUZZ_SEED}`);
    assert.ok(accepted.size > 0 && (counts.get('submit 400') ?? 0) > 0, 'the fuzz reached both accepted and rejected submissions');

    // Exactly the accepted submissions exist, owned by who submitted them, and nothing of the victim's changed.
    const jobs = await app.pool.query<{ id: string; user_id: string; status: string; attempt: number; credits_charged: string }>('select id, user_id, status, attempt, credits_charged from public.jobs');
    const fuzzed = jobs.rows.filter((r) => r.user_id !== victim.id);
    assert.deepEqual(fuzzed.map((r) => `${r.id}:${r.user_id}:${Number(r.credits_charged)}`).sort(), [...accepted].map(([id, a]) => `${id}:${a.owner}:${a.credits}`).sort(), 'jobs in the database = accepted submissions');
    assert.ok(fuzzed.every((r) => r.status === 'queued' && r.attempt === 1), 'accepted jobs were queued once and not otherwise touched');
    assert.equal(await victimState(), victimBefore, 'the victim\'s jobs, events, ledger, balance, deliveries, files and documents are unchanged');

    // Charged exactly once per accepted job and nothing else: no refunds, no grants, no charge without a job.
    const ledger = await app.pool.query<{ user_id: string; job_id: string | null; entry: string; amount: string }>('select user_id, job_id, entry, amount from public.credit_ledger order by id');
    const charges = ledger.rows.filter((r) => r.entry === 'charge' && r.user_id !== victim.id && Number(r.amount) !== 0);
    assert.deepEqual(charges.map((r) => `${r.job_id}:${r.user_id}:${-Number(r.amount)}`).sort(), [...accepted].filter(([, a]) => a.credits !== 0).map(([id, a]) => `${id}:${a.owner}:${a.credits}`).sort());
    assert.deepEqual(ledger.rows.filter((r) => r.entry !== 'charge' && r.user_id !== victim.id).map((r) => `${r.user_id}:${r.entry}:${r.amount}`).sort(), [`${fuzzer.id}:grant:${FUZZER_CREDITS}`]);
    const balances = await app.pool.query<{ user_id: string; balance: string }>('select user_id, balance from public.credit_accounts');
    const balance = (id: string): number => Number(balances.rows.find((r) => r.user_id === id)?.balance ?? 0);
    assert.equal(balance(fuzzer.id), FUZZER_CREDITS - [...accepted.values()].reduce((sum, a) => sum + a.credits, 0));
    assert.equal(balance(poor.id), 0);

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

  it(`the host's peak RSS (VmHWM) during the fuzz stays under ${HOST_PEAK_LIMIT_MB} MB`, (t) => {
    if (hostPeak.kb === null) {
      t.skip(`host memory not readable (${hostPeak.unreadable ?? 'the fuzz did not run'})`);
      return;
    }
    assert.ok(hostPeak.kb / 1024 < HOST_PEAK_LIMIT_MB, `host peaked at ${Math.round(hostPeak.kb / 1024)} MB; replay with FUZZ_SEED=${FUZZ_SEED}`);
  });
});
