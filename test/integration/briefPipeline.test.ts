/**
 * Kind `brief_pipeline` end to end on the local host: every media type with the offline model (steps in the seed's
 * order, JSON validated, images stored and served), and a provider that answers invalid JSON once (one re-ask).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';
import { startAiFake, type AiFake } from '../support/aiFake';

interface BriefResult {
  steps: { type: string; status: string; output: Record<string, unknown> }[];
  final: { document: { headline: string; sections: unknown[] }; markdown: string };
}

const brief = (mediaType: string) => ({ title: 'Spring launch', description: 'A reusable bottle made of kelp', query: `Make a ${mediaType} piece for the launch`, mediaType });

describe('brief_pipeline with the offline model', () => {
  let app: JobsApp;
  let user: TestUser;
  before(async () => {
    app = await startJobsApp({ name: 'brief_offline' });
    user = await app.createUser(100);
  });
  after(async () => {
    await app?.stop();
  });

  const expected: Record<string, string[]> = {
    video: ['analysis', 'asset_prep', 'video_generation', 'render'],
    image: ['analysis', 'asset_prep', 'image_processing', 'render'],
    audio: ['analysis', 'asset_prep', 'render'],
    text: ['analysis', 'text_analysis', 'render'],
  };
  for (const [mediaType, steps] of Object.entries(expected)) {
    it(`runs a ${mediaType} brief through ${steps.join(' → ')} and renders the document`, async () => {
      const res = await app.api<{ id: string; creditsCharged: number }>('POST', '/api/jobs', user, { kind: 'brief_pipeline', input: brief(mediaType) });
      assert.equal(res.status, 202);
      assert.equal(res.body.creditsCharged, steps.length, 'one credit per step');
      const job = await app.waitForStatus(res.body.id, ['completed', 'failed']);
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      const result = job.result as BriefResult;
      assert.deepEqual(result.steps.map((s) => [s.type, s.status]), steps.map((s) => [s, 'done']));
      assert.match(result.final.markdown, /^# \[offline local model \w+\] headline\n\n/);
      assert.deepEqual(job.progress, { done: steps.length, total: steps.length, percent: 100, stage: 'render', message: null });
      const results = await app.api<{ items: { type: string; status: string }[] }>('GET', `/api/jobs/${res.body.id}/results`, user);
      assert.deepEqual(results.body.items.map((i) => i.type), steps);
      if (mediaType === 'image') {
        const images = result.steps.find((s) => s.type === 'image_processing')!.output.images as { url: string; contentType: string }[];
        assert.equal(images.length, 2);
        assert.match(result.final.markdown, /## Images\n\n!\[/);
        const file = await fetch(`${app.host.url}${images[0]!.url}`, { headers: { authorization: `Bearer ${user.token}` } });
        assert.equal(file.status, 200);
        assert.equal(file.headers.get('content-type'), 'image/png');
        assert.deepEqual([...new Uint8Array(await file.arrayBuffer()).subarray(1, 4)], [0x50, 0x4e, 0x47]);
        const stranger = await app.createUser(0);
        assert.equal((await fetch(`${app.host.url}${images[0]!.url}`, { headers: { authorization: `Bearer ${stranger.token}` } })).status, 404);
      }
      if (mediaType === 'video') {
        const video = result.steps.find((s) => s.type === 'video_generation')!.output;
        assert.ok(Array.isArray(video.shots) && typeof video.script === 'string', 'a shot list and a script');
      }
    });
  }

  it('rejects a brief without a valid media type before charging', async () => {
    const res = await app.api<{ error: { details: { issues: { path: string }[] } } }>('POST', '/api/jobs', user, { kind: 'brief_pipeline', input: { ...brief('video'), mediaType: 'hologram' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details.issues[0]?.path, 'input.mediaType');
  });

  it('lists briefs by kind like every kind', async () => {
    const list = await app.api<{ jobs: { kind: string }[] }>('GET', '/api/jobs?kind=brief_pipeline&limit=100', user);
    assert.ok(list.body.jobs.length >= 4 && list.body.jobs.every((j) => j.kind === 'brief_pipeline'));
  });
});

describe('brief_pipeline with a provider that answers invalid JSON once', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    app = await startJobsApp({ name: 'brief_fake', env: { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_RPM: '100000' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('re-asks with the reason when a step answers invalid JSON once, and completes', async () => {
    const user = await app.createUser(100);
    fake.rules.push({ match: /step \("analysis"\)/, prose: true, times: 1 });
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'brief_pipeline', input: brief('text') });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal(fake.calls(/step \("analysis"\)/), 2, 'one invalid answer, one re-ask');
    assert.equal(fake.calls(/Your previous answer was rejected: not a JSON object/), 1);
    assert.equal(fake.calls(/step \("text_analysis"\)/), 1);
    const result = job.result as BriefResult;
    assert.match(result.final.markdown, /^# fake json headline/);
    assert.equal(Number(job.credits_refunded), 0);
  });

  it('fails a step whose answers never validate, refunding the steps that did not run', async () => {
    const user = await app.createUser(100);
    fake.rules.push({ match: /step \("asset_prep"\)/, prose: true });
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'brief_pipeline', input: brief('audio') });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'failed');
    assert.match(JSON.stringify(job.error), /step asset_prep: the model did not return valid JSON in 3 tries/);
    assert.equal(fake.calls(/step \("asset_prep"\)/), 3, 'one answer and two re-asks');
    assert.equal(Number(job.credits_refunded), 2, 'analysis ran; asset_prep and render are refunded');
    fake.rules.length = 0;
  });
});
