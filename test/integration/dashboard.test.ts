/**
 * The operator dashboard on the real app: served with its own assets under a 'self'-only CSP, admin key only, and —
 * in headless Chromium (Debian's chromium driven by playwright-core) — live jobs with progress, filters, a job's
 * detail, and Retry of a failed job that then runs to completion in the page. Screenshots go to test-artifacts/.
 * Without /usr/bin/chromium the browser part skips, unless LONGHAUL_REQUIRE_BROWSER is set (CI), where it fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { eventually, repoRoot } from '../support/hostProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp, type TestUser } from '../support/jobsApp';
import { startOpenAiFake, type OpenAiFake } from '../support/openaiFake';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium dials out at start-up, which a closed network refuses.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const browserMissing = !existsSync(CHROMIUM);
const skipBrowser = browserMissing && !process.env.LONGHAUL_REQUIRE_BROWSER ? `${CHROMIUM} is missing (apt-get install -y chromium); set LONGHAUL_REQUIRE_BROWSER=1 to make this a failure` : false;
const artifacts = join(repoRoot, 'test-artifacts');

describe('operator dashboard', () => {
  let fake: OpenAiFake;
  let app: JobsApp;
  let alice: TestUser;
  let bob: TestUser;
  let completedId: string;
  let failedId: string;
  before(async () => {
    fake = await startOpenAiFake();
    fake.rules.push({ match: /POISON/, status: 400, message: 'This prompt is not allowed.' }, { match: /^slow /, delayMs: 1_000 });
    app = await startJobsApp({ name: 'dashboard', env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-dashboard', OPENAI_BASE_URL: fake.baseUrl, OPENAI_RPM: '1000000', JOB_CHUNK_CONCURRENCY: '1' } });
    alice = await app.createUser(5_000);
    bob = await app.createUser(5_000);
    completedId = (await app.api<JobBody>('POST', '/api/jobs', alice, { kind: 'workflow', input: llmNodes(4, 'fine') })).body.id;
    failedId = (await app.api<JobBody>('POST', '/api/jobs', bob, { kind: 'workflow', input: { nodes: [...llmNodes(2, 'ok').nodes, { id: 'bad', type: 'llm', prompt: 'POISON {{ok0}}', inputs: ['ok0'] }] } })).body.id;
    assert.equal((await app.waitForStatus(completedId, ['completed', 'failed'], 60_000)).status, 'completed');
    assert.equal((await app.waitForStatus(failedId, ['completed', 'failed'], 60_000)).status, 'failed');
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('answers 401 without the admin key (also for a user token), the page with ?code= or x-functions-key, never echoing the key', async () => {
    const url = `${app.host.url}/api/dashboard`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(`${url}?code=wrong`)).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${alice.token}` } })).status, 401);
    const page = await fetch(`${url}?code=${app.adminKey}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-|https?:|\*/);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const html = await page.text();
    assert.ok(!html.includes(app.adminKey), 'the key is not written into the page');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
    assert.equal((await fetch(url, { headers: { 'x-functions-key': app.adminKey } })).status, 200);
  });

  it('serves its script and stylesheet from the app itself; unknown assets are 404', async () => {
    const js = await fetch(`${app.host.url}/api/dashboard/assets/dashboard.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await js.text(), /x-functions-key/);
    const css = await fetch(`${app.host.url}/api/dashboard/assets/dashboard.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal((await fetch(`${app.host.url}/api/dashboard/assets/constructor`)).status, 404);
    assert.equal((await fetch(`${app.host.url}/api/dashboard/assets/..%2Fpage.js`)).status, 404);
  });

  it('in Chromium: live jobs with progress, filters, a job detail, Retry of a failed job running to completion', { skip: skipBrowser, timeout: 180_000 }, async () => {
    assert.ok(!browserMissing, `${CHROMIUM} is missing and LONGHAUL_REQUIRE_BROWSER is set: install it (apt-get install -y chromium)`);
    // A long job still running while we look (5 chunks of 40 nodes, one chunk at a time), so the page shows live progress.
    const runningId = (await app.api<JobBody>('POST', '/api/jobs', alice, { kind: 'workflow', input: llmNodes(200, 'slow') })).body.id;
    const userDir = mkdtempSync(join(tmpdir(), 'longhaul-chromium-'));
    let context: BrowserContext | undefined;
    let shown: Page | undefined;
    try {
      context = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1440, height: 1000 } });
      const page = context.pages()[0] ?? (await context.newPage());
      shown = page;
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      // CSP violations and failed loads are reported as console errors.
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      const keyLeaks: string[] = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        if (url.pathname !== '/api/dashboard' && req.url().includes(app.adminKey)) keyLeaks.push(req.url());
        if (req.headers().referer?.includes(app.adminKey)) keyLeaks.push(`referer of ${req.url()}`);
      });

      await page.goto(`${app.host.url}/api/dashboard?code=${app.adminKey}`);
      await row(page, completedId).waitFor();
      await row(page, failedId).waitFor();
      await row(page, runningId).waitFor();
      assert.equal(await row(page, completedId).getAttribute('data-status'), 'completed');
      assert.equal(await row(page, failedId).getAttribute('data-status'), 'failed');
      await page.locator('#count-completed .value').filter({ hasText: /^[1-9]/ }).waitFor();
      await page.locator('#chart svg rect.bar-completed').first().waitFor();
      assert.equal(await page.locator('#chart svg g').count(), 60, 'one bar per minute');
      await page.locator('#limiter-table td', { hasText: 'openai' }).first().waitFor();
      await eventually(async () => {
        const pct = Number(await row(page, runningId).locator('[role=progressbar]').getAttribute('aria-valuenow'));
        return pct > 0 && pct < 100 ? true : undefined;
      }, 30_000, 'the running job to show partial progress');
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });

      // Cancel from the list: the running job stops and says so.
      await row(page, runningId).locator('button[data-action=cancel]').click();
      await eventually(async () => (await app.pool.query('select 1 from public.jobs where id = $1 and cancel_requested_at is not null', [runningId])).rowCount || undefined, 10_000, 'the cancel request');
      await row(page, runningId).and(page.locator('[data-status=cancelled]')).waitFor({ timeout: 60_000 });

      // Filters: status, then user, then clear.
      await page.selectOption('#filter-status', 'failed');
      await eventually(async () => ((await page.locator('#jobs-body tr.job:not([data-status=failed])').count()) === 0 ? true : undefined), 10_000, 'only failed jobs listed');
      await row(page, failedId).waitFor();
      assert.equal(await page.locator('#jobs-body tr.job').count(), 1);
      await page.selectOption('#filter-status', '');
      await page.fill('#filter-user', alice.id);
      await row(page, failedId).waitFor({ state: 'detached' });
      await row(page, completedId).waitFor();
      assert.equal(await page.locator('#jobs-body tr.job').count(), 2, 'alice has two jobs');
      assert.equal(await row(page, runningId).count(), 1);
      await page.click('#filter-clear');
      await row(page, failedId).waitFor();

      // The failed job's detail: status, the failing node's error, stages, event log.
      await row(page, failedId).locator('td').first().click();
      const drawer = page.locator('#drawer');
      await drawer.locator('#detail-status .pill.status-failed').waitFor();
      await drawer.locator('#detail-errors', { hasText: 'not allowed' }).waitFor();
      await drawer.locator('#detail-events li.to-failed').waitFor();
      assert.ok((await drawer.locator('#detail-stages tbody tr').count()) >= 1, 'the stages with their chunk counts');

      // Retry with the provider healed: the page follows the new attempt to completion.
      fake.rules.splice(0, 1);
      await drawer.locator('button[data-action=retry]').click();
      await drawer.locator('#detail-status .pill.status-completed').waitFor({ timeout: 60_000 });
      await row(page, failedId).and(page.locator('[data-status=completed]')).waitFor();
      await drawer.locator('#detail-events li.to-running').nth(1).waitFor();
      assert.match((await drawer.locator('.facts').textContent()) ?? '', /Attempt\s*2/);
      const seen = await app.pool.query<{ to_status: string }>('select to_status from public.job_events where job_id = $1 order by id', [failedId]);
      assert.deepEqual(seen.rows.map((r) => r.to_status).slice(-4), ['pending', 'queued', 'running', 'completed']);
      await page.screenshot({ path: join(artifacts, 'dashboard-detail.png'), fullPage: false });

      assert.deepEqual(problems, [], 'no script errors and no CSP violations');
      assert.deepEqual(keyLeaks, [], 'the key is sent only in x-functions-key');
      assert.equal(await page.evaluate(() => {
        // Runs in the page; this program is compiled without the DOM library.
        const w = globalThis as unknown as { localStorage: { length: number }; sessionStorage: { length: number }; document: { cookie: string } };
        return w.localStorage.length + w.sessionStorage.length + w.document.cookie.length;
      }), 0, 'the key is not stored');
      // The README's picture: refreshed by LONGHAUL_UPDATE_SCREENSHOT=1, written when missing.
      const docsPng = join(repoRoot, 'docs', 'dashboard.png');
      if (!existsSync(docsPng) || process.env.LONGHAUL_UPDATE_SCREENSHOT) copyFileSync(join(artifacts, 'dashboard.png'), docsPng);
    } catch (err) {
      mkdirSync(artifacts, { recursive: true });
      await shown?.screenshot({ path: join(artifacts, 'dashboard-failure.png'), fullPage: true }).catch(() => undefined);
      throw err;
    } finally {
      await context?.close().catch(() => undefined);
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});

function row(page: Page, id: string) {
  return page.locator(`#jobs-body tr.job[data-job-id="${id}"]`);
}
