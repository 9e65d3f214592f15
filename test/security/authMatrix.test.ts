/**
 * The API's protections, one table each, over real HTTP against the real app (and, for RLS, as Supabase's roles in
 * Postgres): every route refuses missing, forged, tampered and expired credentials; another user's job is 404 (not
 * 403) everywhere; the webhook needs its secret; the host's admin API needs its key; filters are data, never SQL;
 * bodies over MAX_REQUEST_BODY_MB are 413 payload_too_large (declared or streamed); a signed-in user cannot write
 * status, credits, prices or engine state. Complements test/unit/auth.test.ts (token verification in-process) and
 * test/supabase/rls.test.ts (the basic RLS refusals), which it does not repeat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { SignJWT } from 'jose';
import { signUserToken } from '../../local/supabase/demoUser';
import { parseConfig } from '../../shared/config';
import { asSupabaseRole, testStorageConnectionString } from '../support/database';
import { repoRoot } from '../support/hostProcess';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

const b64 = (s: string): string => Buffer.from(s).toString('base64url');
const wf = (prompt: string) => ({ nodes: [{ id: 'a', type: 'llm', prompt }] });

describe('security: auth matrix, injection, body size and RLS writes', () => {
  let app: JobsApp;
  let alice: TestUser;
  let bob: TestUser;
  let aliceJob: string;
  let aliceFailed: string;
  let queue: QueueClient;

  /** One request with raw headers; the JSON body (if any) parsed. */
  async function call(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: Record<string, unknown> | null; text: string }> {
    const res = await fetch(`${app.host.url}${path}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body });
    const text = await res.text();
    let json: Record<string, unknown> | null = null;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json, text };
  }
  const as = (user: TestUser): Record<string, string> => ({ authorization: `Bearer ${user.token}` });
  const queueDepth = async (): Promise<number> => ((await queue.exists()) ? (await queue.getProperties()).approximateMessagesCount ?? 0 : 0);
  const jobRow = async (id: string) => (await app.pool.query<{ status: string; attempt: number; cancel_requested_at: Date | null; credits_refunded: string }>('select status, attempt, cancel_requested_at, credits_refunded from public.jobs where id = $1', [id])).rows[0]!;

  before(async () => {
    app = await startJobsApp({
      name: 'security_auth',
      bridge: false,
      // A small limit keeps the 413 cases cheap; nothing consumes the queue, so its depth shows every enqueue.
      env: { MAX_REQUEST_BODY_MB: '1', 'AzureWebJobs.jobsQueue.Disabled': 'true', 'AzureWebJobs.sweeper.Disabled': 'true', LONGHAUL_LOG_LEVEL: 'error' },
    });
    queue = new QueueClient(testStorageConnectionString(), app.queueName);
    alice = await app.createUser(100);
    bob = await app.createUser(100);
    // Inserted as the service role: pending, not enqueued (the webhook cases below must be the only way in).
    const insert = async (prompt: string) => (await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [JSON.stringify(wf(prompt)), alice.id])).rows[0]!.id;
    aliceJob = await insert('alice secret');
    aliceFailed = await insert('alice failed');
    await app.pool.query("select longhaul.start_job($1, 1, 't')", [aliceFailed]);
    await app.pool.query("select longhaul.fail_job($1, 1, '{\"message\":\"x\"}'::jsonb, 't')", [aliceFailed]);
  });
  after(async () => {
    await app?.stop();
  });

  it('every user route answers 401 to missing, forged, alg-none, tampered, expired, non-user and wrong-key credentials', async () => {
    const key = new TextEncoder().encode(app.jwtSecret);
    const [header, , signature] = alice.token.split('.');
    /** Alice's token as Supabase Auth writes it, signed with the project's secret, with one claim changed or left out. */
    const minted = async (changes: Record<string, unknown>, omit?: string): Promise<Record<string, string>> => {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = { sub: alice.id, role: 'authenticated', aud: 'authenticated', iss: app.env.SUPABASE_JWT_ISSUER, iat: now, exp: now + 3600, ...changes };
      if (omit) delete claims[omit];
      return { authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key)}` };
    };
    // The positive control for the rows below: the unchanged token opens alice's job.
    assert.equal((await call('GET', `/api/jobs/${aliceJob}`, await minted({}))).status, 200);
    const credentials: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['not a JWT', { authorization: 'Bearer not.a.jwt' }],
      ['signed with another secret', { authorization: `Bearer ${await signUserToken(alice.id, 'another-secret-that-is-long-enough!')}` }],
      ['alg none', { authorization: `Bearer ${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: alice.id, role: 'authenticated', exp: 9e9 }))}.` }],
      ['payload tampered (sub), signature kept', { authorization: `Bearer ${header}.${b64(JSON.stringify({ sub: alice.id, role: 'authenticated', aud: 'authenticated', exp: 9e9 }))}.${signature}` }],
      ['expired', await minted({ exp: Math.floor(Date.now() / 1000) - 60 })],
      ['no expiry (exp)', await minted({}, 'exp')],
      ['no role', await minted({}, 'role')],
      ['role anon', await minted({ role: 'anon' })],
      ['role anon, no user (as the anon key)', await minted({ role: 'anon' }, 'sub')],
      ['role service_role (not a user, not the admin key)', await minted({ role: 'service_role' })],
      ['role service_role, no user (as the service role key)', await minted({ role: 'service_role' }, 'sub')],
      ['audience of another service', await minted({ aud: 'some-other-service' })],
      ['no audience', await minted({}, 'aud')],
      ['issuer of another project', await minted({ iss: 'https://another-project.supabase.co/auth/v1' })],
      ['no issuer', await minted({}, 'iss')],
      ['no subject', await minted({}, 'sub')],
      ['subject not a uuid', await minted({ sub: 'alice' })],
      ['not yet valid (nbf)', await minted({ nbf: Math.floor(Date.now() / 1000) + 3600 })],
      ['service_role forged with another secret', { authorization: `Bearer ${await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-that-is-long-enough!'))}` }],
      ['wrong admin key (last character changed)', { 'x-functions-key': `${app.adminKey.slice(0, -1)}${app.adminKey.endsWith('0') ? '1' : '0'}` }],
      ['admin key as ?code=, wrong', {}],
    ];
    const routes: [string, string, string?][] = [
      ['POST', '/api/jobs', JSON.stringify({ kind: 'workflow', input: wf('x'), userId: alice.id })],
      ['GET', '/api/jobs'],
      ['GET', `/api/jobs/${aliceJob}`],
      ['GET', `/api/jobs/${aliceJob}/results`],
      ['POST', `/api/jobs/${aliceJob}/cancel`],
      ['POST', `/api/jobs/${aliceFailed}/retry`],
      ['GET', `/api/jobs/${aliceJob}/files/image-1.png`],
      ['GET', '/api/credits'],
      ['POST', '/api/rag/search', JSON.stringify({ query: 'secret', userId: alice.id })],
    ];
    const wrong: string[] = [];
    for (const [name, headers] of credentials) {
      for (const [method, path, body] of routes) {
        const url = name.startsWith('admin key as ?code=') ? `${path}${path.includes('?') ? '&' : '?'}code=${app.adminKey.toUpperCase()}` : path;
        const res = await call(method, url, headers, body);
        if (res.status !== 401 || (res.json?.error as { code?: string } | undefined)?.code !== 'unauthorized') wrong.push(`${name}: ${method} ${path} → ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    assert.deepEqual(wrong, []);
    // The positive controls: the same routes open with the right credentials.
    assert.equal((await call('GET', `/api/jobs/${aliceJob}`, as(alice))).status, 200);
    assert.equal((await call('GET', `/api/jobs/${aliceJob}?code=${app.adminKey}`, {})).status, 200);
    assert.equal((await call('GET', `/api/jobs/${aliceJob}`, { 'x-functions-key': app.adminKey })).status, 200);
    // Nothing was submitted, charged, cancelled or retried by the refused requests.
    assert.equal((await app.pool.query('select 1 from public.jobs')).rowCount, 2);
    assert.deepEqual([(await jobRow(aliceJob)).status, (await jobRow(aliceFailed)).status], ['pending', 'failed']);
    assert.equal(await queueDepth(), 0);
  });

  it('a valid token whose user was deleted is 401 (the session is over) on submit and credits, and never a 500 anywhere', async () => {
    const gone = await app.createUser(100);
    // Inserted as the service role (not enqueued: the queue depth is asserted by the cases below).
    const job = (await app.pool.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('workflow', $1, $2) returning id", [JSON.stringify(wf('before')), gone.id])).rows[0]!.id;
    assert.equal((await call('GET', '/api/credits', as(gone))).status, 200, 'the positive control: the token worked while its user existed');
    await app.pool.query('delete from auth.users where id = $1', [gone.id]);
    for (const [method, path, body] of [
      ['POST', '/api/jobs', JSON.stringify({ kind: 'workflow', input: wf('after') })],
      ['POST', '/api/jobs', JSON.stringify({ kind: 'workflow', input: wf('after'), idempotencyKey: 'k1' })],
      ['GET', '/api/credits'],
    ] as const) {
      const res = await call(method, path, as(gone), body);
      assert.equal(res.status, 401, `${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`);
      const error = res.json?.error as { code: string; message: string };
      assert.equal(error.code, 'unauthorized');
      assert.match(error.message, /does not exist.*no longer valid/);
    }
    for (const [method, path, body] of [
      ['GET', '/api/jobs'],
      ['GET', `/api/jobs/${job}`],
      ['GET', `/api/jobs/${job}/results`],
      ['POST', `/api/jobs/${job}/cancel`],
      ['POST', `/api/jobs/${job}/retry`],
      ['POST', '/api/rag/search', JSON.stringify({ query: 'x' })],
    ] as const) {
      const res = await call(method, path, as(gone), body);
      assert.ok(res.status < 500, `${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    assert.equal((await app.pool.query('select 1 from public.jobs where user_id = $1', [gone.id])).rowCount, 0, 'nothing was written for the deleted user');
  });

  it("another user's job is 404, not 403, on GET, results, files, cancel and retry — and stays untouched", async () => {
    const before = [await jobRow(aliceJob), await jobRow(aliceFailed)];
    const cases: [string, string][] = [
      ['GET', `/api/jobs/${aliceJob}`],
      ['GET', `/api/jobs/${aliceJob}/results`],
      ['GET', `/api/jobs/${aliceJob}/files/image-1.png`],
      ['POST', `/api/jobs/${aliceJob}/cancel`],
      ['POST', `/api/jobs/${aliceFailed}/retry`],
    ];
    for (const [method, path] of cases) {
      const res = await call(method, path, as(bob));
      assert.equal(res.status, 404, `${method} ${path} as bob`);
      assert.equal((res.json?.error as { code: string }).code, 'not_found');
      assert.ok(!res.text.includes('alice'), 'the answer says nothing about the job');
    }
    assert.deepEqual([await jobRow(aliceJob), await jobRow(aliceFailed)], before);
    assert.equal(await queueDepth(), 0, 'the refused retry enqueued nothing');
    // A user naming someone else in the body or query gets their own scope, never the other user's.
    const list = await call('GET', `/api/jobs?userId=${alice.id}`, as(bob));
    assert.deepEqual([list.status, (list.json?.jobs as unknown[]).length], [200, 0]);
    const submitted = await call('POST', '/api/jobs', as(bob), JSON.stringify({ kind: 'workflow', input: wf('mine'), userId: alice.id }));
    assert.equal(submitted.status, 202);
    assert.equal(submitted.json?.userId, bob.id, 'a user cannot submit (and charge) a job for someone else');
    const credits = await call('GET', `/api/credits?userId=${alice.id}`, as(bob));
    assert.equal(credits.json?.balance, 99, "bob's balance, not alice's");
    // The admin key sees any job (the same ids are real, which is what makes the 404s above meaningful).
    assert.equal((await call('GET', `/api/jobs/${aliceJob}`, { 'x-functions-key': app.adminKey })).status, 200);
  });

  it('the webhook enqueues only with the exact secret (401 otherwise, nothing queued), and the host admin API needs its key', async () => {
    const payload = JSON.stringify({ type: 'INSERT', table: 'jobs', schema: 'public', record: { id: aliceJob, attempt: 1, status: 'pending' }, old_record: null });
    const start = await queueDepth();
    const secrets: [string, Record<string, string>][] = [
      ['no secret', {}],
      ['empty secret', { 'x-webhook-secret': '' }],
      ['wrong secret', { 'x-webhook-secret': 'a-wrong-secret-of-plausible-length' }],
      ['secret minus its last character', { 'x-webhook-secret': app.webhookSecret.slice(0, -1) }],
      ['secret plus a character', { 'x-webhook-secret': `${app.webhookSecret}0` }],
      ['secret in upper case', { 'x-webhook-secret': app.webhookSecret.toUpperCase() }],
      ['the admin key instead', { 'x-webhook-secret': app.adminKey }],
      ['secret as a bearer token', { authorization: `Bearer ${app.webhookSecret}` }],
    ];
    for (const [name, headers] of secrets) {
      const res = await call('POST', '/api/webhooks/supabase', headers, payload);
      assert.equal(res.status, 401, name);
    }
    assert.equal((await jobRow(aliceJob)).status, 'pending');
    assert.equal(await queueDepth(), start, 'no refused webhook enqueued anything');
    // The right secret with an attempt no Postgres integer holds: a 400 naming the field, not a database error.
    for (const attempt of [2 ** 31, 2 ** 53, 0, 1.5]) {
      const res = await call('POST', '/api/webhooks/supabase', { 'x-webhook-secret': app.webhookSecret }, JSON.stringify({ type: 'INSERT', table: 'jobs', schema: 'public', record: { id: aliceJob, attempt, status: 'pending' } }));
      assert.ok(res.status === 400 || (res.status === 202 && res.json?.accepted === false), `attempt ${attempt} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    assert.equal(await queueDepth(), start);
    const ok = await call('POST', '/api/webhooks/supabase', { 'x-webhook-secret': app.webhookSecret }, payload);
    assert.deepEqual([ok.status, ok.json?.accepted], [202, true], 'the positive control');
    assert.equal(await queueDepth(), start + 1);
    assert.equal((await jobRow(aliceJob)).status, 'queued');

    // The Durable management API of the host (operators only): no key or a wrong key is 401.
    for (const headers of [{}, { 'x-functions-key': app.adminKey }, { 'x-functions-key': 'wrong' }] as Record<string, string>[]) {
      assert.equal((await call('GET', '/runtime/webhooks/durabletask/instances', headers)).status, 401);
    }
    assert.equal((await call('GET', '/runtime/webhooks/durabletask/instances', { 'x-functions-key': app.host.keys.masterKey })).status, 200);
  });

  it('secrets and keys are compared only through the constant-time secretsEqual', () => {
    // Every place functions/ or shared/ reads the webhook secret or the admin key must compare it with secretsEqual.
    const offenders: string[] = [];
    for (const dir of ['functions', 'shared', 'shared/api', 'shared/jobs']) {
      for (const file of readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith('.ts'))) {
        if (`${dir}/${file}` === 'shared/config.ts') continue;
        readFileSync(join(repoRoot, dir, file), 'utf8')
          .split('\n')
          .forEach((line, n) => {
            if (/webhookSecret|adminApiKey/.test(line) && !line.includes('secretsEqual(')) offenders.push(`${dir}/${file}:${n + 1}: ${line.trim()}`);
            if (/(===|!==|==|!=)\s*\S*(webhookSecret|adminApiKey)|(webhookSecret|adminApiKey)\S*\s*(===|!==|==|!=)/.test(line)) offenders.push(`${dir}/${file}:${n + 1}: ${line.trim()}`);
          });
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('filters are data, not SQL: metacharacters are 400 or empty, never 500, never another user\'s rows', async () => {
    const injections = ["' or '1'='1", "pending' or 1=1 --", "'; update public.credit_accounts set balance = 1e9; --", 'workflow) or (1=1', '%', '\\', "$1", "pending\u0000"];
    const seen: string[] = [];
    for (const who of [as(bob), { 'x-functions-key': app.adminKey }]) {
      for (const bad of injections) {
        for (const param of ['status', 'kind', 'userId', 'cursor', 'limit']) {
          const res = await call('GET', `/api/jobs?${param}=${encodeURIComponent(bad)}`, who);
          seen.push(`${param} ${res.status}`);
          assert.ok(res.status === 400 || (res.status === 200 && (res.json?.jobs as unknown[]).length === 0), `${param}=${bad} → ${res.status} ${res.text.slice(0, 200)}`);
        }
        const cursor = b64(JSON.stringify([bad, aliceJob]));
        assert.equal((await call('GET', `/api/jobs?cursor=${cursor}`, who)).status, 400, `cursor [${bad}, id]`);
        // Shaped like the timestamps the API writes, but no date: Postgres' own datetime error must still be a 400.
        for (const stamp of ['2026-13-45 99:99:99+00', '2026-02-30 10:00:00+00']) {
          assert.equal((await call('GET', `/api/jobs?cursor=${b64(JSON.stringify([stamp, aliceJob]))}`, who)).status, 400, `cursor [${stamp}, id]`);
        }
        const results = await call('GET', `/api/jobs/${aliceJob}/results?cursor=${encodeURIComponent(bad)}&limit=${encodeURIComponent(bad)}`, who);
        assert.ok(results.status === 400 || results.status === 404, `results cursor ${bad} → ${results.status}`);
        const id = await call('GET', `/api/jobs/${encodeURIComponent(`${aliceJob}' or '1'='1`)}`, who);
        assert.equal(id.status, 404);
        const search = await call('POST', '/api/rag/search', who, JSON.stringify({ query: bad, documentId: bad, userId: bob.id }));
        assert.ok(search.status === 400 || (search.status === 200 && (search.json?.matches as unknown[]).length === 0), `rag documentId ${bad} → ${search.status}`);
      }
    }
    // The injected statements did nothing.
    assert.deepEqual((await app.pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [bob.id])).rows[0]?.balance, '99');
    assert.ok(seen.some((s) => s.endsWith('400')));
  });

  it('bodies over MAX_REQUEST_BODY_MB are 413 payload_too_large, declared or streamed, on every route; nothing charged or enqueued', async () => {
    const limit = 1024 * 1024;
    const big = JSON.stringify({ kind: 'rag_ingestion', input: { documentId: 'big', segments: [{ seq: 0, text: 'x'.repeat(60_000) }] }, pad: 'y'.repeat(limit) });
    const balance = async () => Number((await app.pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = $1', [alice.id])).rows[0]!.balance);
    const before = { balance: await balance(), depth: await queueDepth(), jobs: (await app.pool.query('select 1 from public.jobs')).rowCount };

    /** Sends without Content-Length (chunked), so only the bytes read can tell the size. */
    const chunked = (path: string, headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const url = new URL(`${app.host.url}${path}`);
        const req = httpRequest({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
        req.end();
      });

    const routes: [string, Record<string, string>][] = [
      ['/api/jobs', as(alice)],
      ['/api/webhooks/supabase', { 'x-webhook-secret': app.webhookSecret }],
      ['/api/rag/search', as(alice)],
      [`/api/jobs/${aliceFailed}/retry`, as(alice)],
    ];
    for (const [path, headers] of routes) {
      const declared = await call('POST', path, headers, big);
      assert.equal(declared.status, 413, `declared: ${path}`);
      assert.equal((declared.json?.error as { code: string }).code, 'payload_too_large');
      if (path.endsWith('/retry')) continue; // a route that reads no body refuses on the declared size alone
      const streamed = await chunked(path, headers, big);
      assert.equal(streamed.status, 413, `streamed: ${path} ${streamed.text.slice(0, 200)}`);
      assert.equal((JSON.parse(streamed.text) as { error: { code: string } }).error.code, 'payload_too_large');
    }
    assert.deepEqual({ balance: await balance(), depth: await queueDepth(), jobs: (await app.pool.query('select 1 from public.jobs')).rowCount }, before);
    assert.equal((await jobRow(aliceFailed)).status, 'failed', 'the oversized retry did not run');
    // Just under the limit is an ordinary request (positive control), streamed too.
    const segments = Array.from({ length: 12 }, (_, i) => ({ seq: i, text: `${'word '.repeat(16_000)}${i}` }));
    const fits = JSON.stringify({ kind: 'rag_ingestion', input: { documentId: 'fits', segments } });
    assert.ok(fits.length > 0.9 * limit && fits.length < limit);
    assert.equal((await chunked('/api/jobs', as(alice), fits)).status, 202);
  });

  it('the default body limit fits the largest inputs the suite sends and stays under the host\'s 100 MB', () => {
    const limit = parseConfig({}).http.maxRequestBodyBytes;
    assert.equal(limit, 32 * 1024 * 1024);
    // bench/jobs.ts: a 100,000-node workflow and a long transcript; ten thousand one-paragraph segments here.
    const workflow = JSON.stringify({ kind: 'workflow', input: { nodes: Array.from({ length: 100_000 }, (_, i) => ({ id: `node${i}`, type: 'llm', prompt: `node ${i}: say something` })) } });
    const transcript = JSON.stringify({ kind: 'rag_ingestion', input: { documentId: 'd', segments: Array.from({ length: 10_000 }, (_, i) => ({ seq: i, text: 'We talked about the river and the market for a while, then moved on. '.repeat(15), startMs: i * 4000, endMs: i * 4000 + 3900 })) } });
    for (const body of [workflow, transcript]) assert.ok(Buffer.byteLength(body) < limit, `${Buffer.byteLength(body)} bytes fit`);
    assert.ok(limit < 100 * 1024 * 1024);
  });

  describe('RLS: a signed-in user cannot write status, credits, prices or engine state (beyond test/supabase/rls.test.ts)', () => {
    // Rolled back: a probe that got through must not change what the next probe sees.
    const asRole = <T extends Record<string, unknown>>(role: 'authenticated' | 'anon', user: TestUser | null, sql: string, values: unknown[] = []): Promise<T[]> =>
      asSupabaseRole<T>(app.pool, { role, userId: user?.id }, sql, values, { commit: false });
    const refused = (err: unknown) => (err as { code?: string }).code === '42501';

    it('authenticated: every write path to status, credits, prices, events and engine functions is refused (42501)', async () => {
      const statements: [string, unknown[]][] = [
        ['update public.jobs set status = $2 where id = $1', [aliceJob, 'completed']],
        ['update public.jobs set credits_charged = 0 where id = $1', [aliceJob]],
        ['update public.jobs set credits_refunded = 1000 where id = $1', [aliceJob]],
        ['update public.jobs set attempt = attempt + 1 where id = $1', [aliceJob]],
        ["update public.jobs set result = '{}'::jsonb where id = $1", [aliceJob]],
        ['update public.credit_accounts set balance = balance + 1000 where user_id = $1', [alice.id]],
        ['insert into public.credit_accounts (user_id, balance) values (gen_random_uuid(), 1000)', []],
        ['delete from public.credit_accounts where user_id = $1', [alice.id]],
        ["insert into public.credit_ledger (user_id, entry, amount, balance_after, reason) values ($1, 'refund', 1000, 1100, 'x')", [alice.id]],
        ['update public.credit_ledger set amount = 1000 where user_id = $1', [alice.id]],
        ['delete from public.credit_ledger where user_id = $1', [alice.id]],
        ['update public.job_pricing set credits_per_unit = 0', []],
        ["insert into public.job_events (job_id, user_id, to_status, actor) values ($1, $2, 'completed', 'me')", [aliceJob, alice.id]],
        ["select longhaul.complete_job($1, 1, '{}'::jsonb, 'me')", [aliceJob]],
        ["select longhaul.fail_job($1, 1, '{}'::jsonb, 'me')", [aliceJob]],
        ["select longhaul.mark_queued($1, 1, 'me')", [aliceJob]],
        ["select longhaul.finish_cancel($1, 1, 'me')", [aliceJob]],
        ['select * from longhaul.job_deliveries', []],
      ];
      const allowed: string[] = [];
      for (const [sql, values] of statements) {
        await asRole('authenticated', alice, sql, values).then(
          () => allowed.push(sql),
          (err: unknown) => {
            if (!refused(err)) allowed.push(`${sql} failed with ${(err as { code?: string }).code} instead of 42501`);
          },
        );
      }
      assert.deepEqual(allowed, []);
      assert.equal((await jobRow(aliceJob)).status, 'queued');
    });

    it('anon (no signed-in user): reads nothing, writes nothing, calls no RPC', async () => {
      for (const table of ['jobs', 'credit_accounts', 'credit_ledger', 'job_events']) {
        await assert.rejects(asRole('anon', null, `select * from public.${table}`), refused, table);
      }
      await assert.rejects(asRole('anon', null, "insert into public.jobs (kind, input) values ('workflow', $1)", [JSON.stringify(wf('x'))]), refused);
      await assert.rejects(asRole('anon', null, 'select public.cancel_job($1)', [aliceJob]), refused);
      await assert.rejects(asRole('anon', null, 'select public.retry_job($1)', [aliceFailed]), refused);
    });
  });
});
