/**
 * Identity-based storage, as infra/ deploys it by default (no account key in the app): AzureWebJobsStorage__* service
 * URIs with `__credential=managedidentity` and `__clientId`. Azurite serves HTTPS and accepts bearer tokens; the
 * local stand-in for the platform's managed identity endpoint issues them to @azure/identity. The whole job path runs on
 * it: the webhook's queue output and the queue trigger (local host), image files uploaded with the identity and handed
 * out as user delegation SAS URLs, recording segments written to and read back from the work container, and the
 * health and stats reads of the queue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { get } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type AzuriteService } from '../../local/services/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../local/services/identityEndpoint';
import { startAiFake, TINY_PNG, type AiFake } from '../support/aiFake';
import { startJobsApp, type JobsApp } from '../support/jobsApp';
import { generateTone } from '../support/recordingFixtures';
import { createTestCertificate, type TestCertificate } from '../support/tls';

function download(url: string, ca: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('identity-based storage (managed identity, no account key)', () => {
  let dir: string;
  let cert: TestCertificate;
  let azurite: AzuriteService;
  let identity: IdentityEndpoint;
  let fake: AiFake;
  let files: Server;
  let base: string;
  let app: JobsApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'longhaul-identity-'));
    cert = await createTestCertificate(dir);
    azurite = await startAzurite({ tls: cert });
    identity = await startIdentityEndpoint();
    fake = await startAiFake();
    generateTone(join(dir, 'talk.wav'), 25);
    files = createServer((req, res) => {
      if (req.url !== '/talk.wav') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(statSync(join(dir, 'talk.wav')).size) });
      createReadStream(join(dir, 'talk.wav')).pipe(res);
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    app = await startJobsApp({
      name: 'identity_storage',
      storage: null,
      env: {
        AzureWebJobsStorage__blobServiceUri: azurite.blobServiceUri,
        AzureWebJobsStorage__queueServiceUri: azurite.queueServiceUri,
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: identity.clientId,
        ...identity.env,
        NODE_EXTRA_CA_CERTS: cert.certPath,
        GEMINI_API_KEY: 'g',
        GEMINI_BASE_URL: fake.url,
        GEMINI_IMAGE_MODEL: 'gemini-image-test',
        OPENAI_API_KEY: 'sk',
        OPENAI_BASE_URL: fake.openaiBaseUrl,
        RECORDING_ALLOW_PRIVATE_URLS: 'true',
        RECORDING_SEGMENT_SECONDS: '10',
        IMAGE_CONTAINER: 'identity-images',
      },
    });
  });
  after(async () => {
    await app?.stop();
    await new Promise<void>((r) => (files ? files.close(() => r()) : r()));
    await fake?.close();
    await identity?.close();
    await azurite?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs image_generation through the identity: queued by the webhook, images uploaded, user delegation SAS URLs that download the bytes', async () => {
    const user = await app.createUser(10);
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'image_generation', input: { prompts: ['a lighthouse at dawn', 'a lantern in fog'] } });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const started = await app.pool.query<{ n: number }>("select count(*)::int as n from public.job_events where job_id = $1 and to_status = 'queued'", [res.body.id]);
    assert.equal(started.rows[0]?.n, 1, 'the webhook put the job on the queue (identity-based queue output) and the trigger took it');
    const images = (job.result as { images: { url: string }[] }).images;
    assert.equal(images.length, 2);
    for (const image of images) {
      const url = new URL(image.url);
      assert.equal(url.searchParams.get('sp'), 'r', 'read-only');
      assert.ok(url.searchParams.get('skoid') && url.searchParams.get('sktid'), `signed with a user delegation key: ${image.url}`);
      const got = await download(image.url, cert.cert);
      assert.equal(got.status, 200, got.body.toString());
      assert.deepEqual(got.body, Buffer.from(TINY_PNG, 'base64'));
    }
    assert.ok(identity.issued.includes('https://storage.azure.com'), `tokens for Storage came from the identity endpoint (${identity.issued.join(', ')})`);
  });

  it('runs recording_analysis with its segments in the work container, written and read back with the identity', async () => {
    const user = await app.createUser(100);
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'recording_analysis', input: { url: `${base}/talk.wav`, analyze: false } });
    assert.equal(res.status, 202);
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 90_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal(fake.requests.filter((r) => r.operation === 'transcribe').length, 3, 'three 10 s segments, each read back from blob storage');
  });

  it('reads the queue with the identity for /api/health and /api/stats', async () => {
    const health = await fetch(`${app.host.url}/api/health`);
    const body = (await health.json()) as { checks: Record<string, { status: string; detail?: string }> };
    assert.equal(body.checks.queue?.status, 'ok', JSON.stringify(body.checks.queue));
    const stats = await app.api<{ queue: { depth: number | null; errors?: string[] } }>('GET', '/api/stats', 'admin');
    assert.equal(stats.status, 200);
    assert.equal(typeof stats.body.queue.depth, 'number', JSON.stringify(stats.body.queue));
  });
});
