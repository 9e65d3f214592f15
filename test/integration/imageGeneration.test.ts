/**
 * Kind `image_generation` end to end on the local host with the Gemini image model on the wire fake (inline image
 * bytes): uploads to blob storage verified by downloading them through their SAS URLs, a safety block failing one image
 * with a partial refund, and the shared limiter spacing images in flight.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp, type JobsApp } from '../support/jobsApp';
import { startAiFake, TINY_PNG, type AiFake } from '../support/aiFake';
import { startStorageFake, type StorageFake } from '../support/storageFake';

interface ImageResult {
  images: { prompt: string; url: string; contentType: string }[];
  failed: { prompt: string; error: string }[];
  generated: number;
  requested: number;
}

describe('image_generation on the Gemini image model', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    // 120 images a minute: one every 500 ms, whatever the number in flight.
    app = await startJobsApp({ name: 'images', env: { GEMINI_API_KEY: 'g', GEMINI_BASE_URL: fake.url, GEMINI_IMAGE_MODEL: 'gemini-image-test', GEMINI_RPM: '120', IMAGE_CONTAINER: 'test-images' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('generates prompts x imagesPerPrompt images, uploads them and returns URLs that download the same bytes', async () => {
    const user = await app.createUser(10);
    const res = await app.api<{ id: string; creditsCharged: number }>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: ['a red kite over dunes', 'a blue tram at night'], imagesPerPrompt: 2, aspectRatio: '16:9' } });
    assert.equal(res.status, 202);
    assert.equal(res.body.creditsCharged, 4);
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const result = job.result as ImageResult;
    assert.equal(result.generated, 4);
    assert.deepEqual(result.images.map((i) => i.prompt), ['a red kite over dunes', 'a red kite over dunes', 'a blue tram at night', 'a blue tram at night']);
    for (const image of result.images) {
      assert.equal(image.contentType, 'image/png');
      assert.match(image.url, /\/test-images\/.+\.png\?.*sig=/, 'a SAS URL');
      const download = await fetch(image.url);
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), Buffer.from(TINY_PNG, 'base64'));
    }
    const requests = fake.requests.filter((r) => r.provider === 'gemini' && r.model === 'gemini-image-test').map((r) => r.at);
    const gaps = requests.slice(1).map((t, i) => t - requests[i]!);
    // The limiter grants one request per 500 ms; arrival at the fake adds each request's own transit jitter, so a
    // single gap may shrink on a loaded machine, but no run of requests may come faster than the limit allows.
    for (let from = 0; from < requests.length; from++) {
      for (let to = from + 1; to < requests.length; to++) {
        assert.ok(requests[to]! - requests[from]! >= (to - from) * 500 - 300, `requests ${from}..${to} faster than 120/min (gaps ${gaps.join(', ')} ms)`);
      }
    }
    assert.equal(Number(job.credits_refunded), 0);
  });

  it('fails only the image the provider blocks, completes the job and refunds that image', async () => {
    const user = await app.createUser(10);
    fake.rules.push({ match: /forbidden scene/, blocked: true });
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: ['a quiet harbour', 'a forbidden scene', 'a snowy pass'] } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed');
    const result = job.result as ImageResult;
    assert.deepEqual([result.generated, result.requested], [2, 3]);
    assert.deepEqual(result.failed.map((f) => f.prompt), ['a forbidden scene']);
    assert.match(result.failed[0]!.error, /blocked this request \(IMAGE_SAFETY\)/);
    assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-3', 'refund:1:1']);
    const items = await app.api<{ items: { key: string; status: string }[] }>('GET', `/api/jobs/${res.body.id}/results`, user);
    assert.deepEqual(items.body.items.map((i) => i.status), ['done', 'failed', 'done']);
    fake.rules.length = 0;
  });

  it('rejects more than 1,000 images before charging', async () => {
    const user = await app.createUser(10);
    const res = await app.api<{ error: { details: { issues: { path: string }[] } } }>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: Array(101).fill('x'), imagesPerPrompt: 10 } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details.issues[0]?.path, 'input.imagesPerPrompt');
  });
});

describe('image_generation into a Supabase Storage bucket', () => {
  let fake: AiFake;
  let storage: StorageFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    storage = await startStorageFake({ serviceRoleKey: 'service-role-key' });
    app = await startJobsApp({
      name: 'images_supabase',
      env: { GEMINI_API_KEY: 'g', GEMINI_BASE_URL: fake.url, GEMINI_RPM: '6000', IMAGE_STORAGE: 'supabase', IMAGE_CONTAINER: 'app-images', IMAGE_URL_TTL_HOURS: '2', SUPABASE_URL: storage.url, SUPABASE_SERVICE_ROLE_KEY: 'service-role-key' },
    });
  });
  after(async () => {
    await app?.stop();
    await storage?.close();
    await fake?.close();
  });

  it('uploads each image to the bucket and returns signed URLs with the configured lifetime that download the same bytes', async () => {
    const user = await app.createUser(10);
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: ['a lighthouse', 'a fox'] } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const result = job.result as ImageResult;
    assert.equal(result.images.length, 2);
    assert.deepEqual([...storage.objects.keys()].sort(), [`app-images/${res.body.id}/p0-1.png`, `app-images/${res.body.id}/p1-1.png`]);
    for (const image of result.images) {
      assert.match(image.url, new RegExp(`^${storage.url}/storage/v1/object/sign/app-images/${res.body.id}/p\\d-1\\.png\\?token=`));
      const download = await fetch(image.url);
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), Buffer.from(TINY_PNG, 'base64'));
    }
    const signs = storage.requests.filter((r) => r.method === 'POST' && r.path.includes('/object/sign/'));
    assert.deepEqual(signs.map((s) => s.expiresIn), [7200, 7200], 'IMAGE_URL_TTL_HOURS=2');
  });
});
