/**
 * What a user or a stranger learns about the server from its answers, on the real app with a provider selected
 * without its key: a job stopped by that misconfiguration shows a message (no stack, no path, no setting names);
 * anonymous /api/health shows the verdict and check names only (the admin key sees the detail); job files are served
 * with an allow-listed type, nosniff, a sandboxing CSP and a Content-Disposition; JSON answers carry nosniff.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';

describe('errors, health and files show users no server internals', () => {
  let app: JobsApp;
  let user: TestUser;
  let jobId: string;
  before(async () => {
    // openai chosen, no OPENAI_API_KEY: every activity that builds the AI services throws a ConfigError.
    app = await startJobsApp({ name: 'error_exposure', env: { AI_PROVIDER: 'openai' } });
    user = await app.createUser(100);
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: { nodes: [{ id: 'a', type: 'llm', prompt: 'hello' }] } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    jobId = res.body.id;
  });
  after(async () => {
    await app?.stop();
  });

  it('a job stopped by a misconfigured provider shows "misconfigured", without a stack, a path or the setting', async () => {
    // planStage is retried by Durable (1 s doubling, 5 tries) before the orchestration fails the job.
    await app.waitForStatus(jobId, ['failed', 'completed'], 60_000);
    const res = await app.api<JobBody>('GET', `/api/jobs/${jobId}`, user);
    assert.equal(res.body.status, 'failed');
    assert.deepEqual(res.body.error, { message: 'the service is misconfigured; the job could not run', code: 'misconfigured' });
    const text = JSON.stringify(res.body);
    for (const leak of ['StackTrace', ' at ', '/dist/', 'OPENAI_API_KEY', 'ConfigError', 'Activity function']) assert.ok(!text.includes(leak), `${leak} in ${text}`);
    assert.equal(res.body.creditsRefunded, res.body.creditsCharged, 'refunded');
  });

  it('anonymous /api/health: the verdict and each check\'s status; the admin key also sees the detail', async () => {
    const anonymous = await fetch(`${app.host.url}/api/health`);
    assert.equal(anonymous.status, 503, 'the AI provider has no key');
    assert.equal(anonymous.headers.get('x-content-type-options'), 'nosniff');
    const body = (await anonymous.json()) as { status: string; checks: Record<string, Record<string, unknown>> };
    assert.equal(body.status, 'unhealthy');
    assert.deepEqual(Object.keys(body.checks).sort(), ['ai', 'database', 'durable', 'queue']);
    for (const [name, check] of Object.entries(body.checks)) assert.deepEqual(Object.keys(check), ['status'], `${name}: ${JSON.stringify(check)}`);
    assert.equal(body.checks.ai?.status, 'failed');
    assert.equal(body.checks.database?.status, 'ok');
    assert.doesNotMatch(JSON.stringify(body), /openai|OPENAI|missing/);

    for (const headers of [{ authorization: `Bearer ${user.token}` }, { 'x-functions-key': 'not-the-key' }] as Record<string, string>[]) {
      const other = await fetch(`${app.host.url}/api/health`, { headers });
      assert.equal(other.status, 503, 'a credential that is not the admin key is no 401 either');
      assert.deepEqual(Object.keys(((await other.json()) as typeof body).checks.ai ?? {}), ['status']);
    }

    const admin = await fetch(`${app.host.url}/api/health`, { headers: { 'x-functions-key': app.adminKey } });
    assert.equal(admin.status, 503);
    const detail = (await admin.json()) as { checks: Record<string, { status: string; detail?: string; durationMs?: number }> };
    assert.match(detail.checks.ai?.detail ?? '', /OPENAI_API_KEY is missing/);
    assert.equal(typeof detail.checks.database?.durationMs, 'number');
  });

  it('job files: an allow-listed content type or octet-stream, nosniff, a sandbox CSP, inline only for media', async () => {
    const files: [name: string, stored: string, served: string, disposition: string][] = [
      ['page.html', 'text/html', 'application/octet-stream', 'attachment; filename="page.html"'],
      ['vector.svg', 'image/svg+xml', 'application/octet-stream', 'attachment; filename="vector.svg"'],
      ['shot.png', 'image/png', 'image/png', 'inline; filename="shot.png"'],
      ['voice.mp3', 'audio/mpeg; x=1', 'audio/mpeg', 'inline; filename="voice.mp3"'],
      ['notes.txt', 'text/plain', 'text/plain; charset=utf-8', 'attachment; filename="notes.txt"'],
      ['data.json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'attachment; filename="data.json"'],
    ];
    for (const [name, stored] of files) {
      await app.pool.query('insert into longhaul.job_files (job_id, name, content_type, data) values ($1, $2, $3, $4)', [jobId, name, stored, Buffer.from('<script>alert(1)</script>')]);
    }
    for (const [name, , served, disposition] of files) {
      const res = await fetch(`${app.host.url}/api/jobs/${jobId}/files/${name}`, { headers: { authorization: `Bearer ${user.token}` } });
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('content-type'), served, name);
      assert.equal(res.headers.get('content-disposition'), disposition, name);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox", name);
      await res.arrayBuffer();
    }
    const missing = await fetch(`${app.host.url}/api/jobs/${jobId}/files/nope.png`, { headers: { authorization: `Bearer ${user.token}` } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-content-type-options'), 'nosniff', 'JSON error answers carry nosniff');
    const job = await fetch(`${app.host.url}/api/jobs/${jobId}`, { headers: { authorization: `Bearer ${user.token}` } });
    assert.equal(job.headers.get('x-content-type-options'), 'nosniff', 'JSON answers carry nosniff');
  });
});
