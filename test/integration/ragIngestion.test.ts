/**
 * Kind `rag_ingestion` end to end on the local host: a 2,000-segment transcript embedded in few requests, searched by
 * meaning (offline feature hashing), re-ingested atomically, searched per user only; and batches sized by a real
 * provider's caps (Gemini, 100 texts per request) through the wire fake.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';
import { startAiFake, type AiFake } from '../support/aiFake';

const WORDS = ['river', 'market', 'engine', 'garden', 'winter', 'copper', 'signal', 'harbor', 'violin', 'desert', 'orbit', 'maple', 'quartz', 'tunnel', 'falcon'];

/** A transcript of n segments of two sentences each; segment `special` talks about something nobody else does. */
function transcript(n: number, special: number, phrase: string): { seq: number; text: string; startMs: number; endMs: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: i,
    text: i === special ? `Then the talk turned to ${phrase}. Everyone listened.` : `We spoke about the ${WORDS[i % 15]} and the ${WORDS[(i * 7) % 15]}. It was segment ${i}.`,
    startMs: i * 5000,
    endMs: i * 5000 + 4800,
  }));
}

interface Match {
  documentId: string;
  text: string;
  segmentSeq: number;
  startMs: number;
  score: number;
}

describe('rag_ingestion with the offline model', () => {
  let app: JobsApp;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    app = await startJobsApp({ name: 'rag_offline' });
    alice = await app.createUser(1000);
    bob = await app.createUser(1000);
  });
  after(async () => {
    await app?.stop();
  });

  it('ingests 2,000 segments in one embedding request and finds the chunk with the query\'s words first', async () => {
    const res = await app.api<{ id: string; creditsCharged: number }>('POST', '/api/jobs', alice, { kind: 'rag_ingestion', input: { documentId: 'talk-1', segments: transcript(2000, 1234, 'the aquamarine lighthouse keeper') } });
    assert.equal(res.status, 202);
    assert.equal(res.body.creditsCharged, 20, '1 credit per 100 segments');
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const result = job.result as { chunks: number; segments: number; embeddingRequests: number; dimensions: number };
    assert.deepEqual([result.segments, result.chunks, result.embeddingRequests, result.dimensions], [2000, 2000, 1, 256]);
    assert.equal((job.usage as { requests: number }).requests, 1);
    const search = await app.api<{ matches: Match[] }>('POST', '/api/rag/search', alice, { query: 'aquamarine lighthouse keeper', k: 3 });
    assert.equal(search.status, 200);
    assert.equal(search.body.matches.length, 3);
    assert.match(search.body.matches[0]!.text, /aquamarine lighthouse keeper/);
    assert.equal(search.body.matches[0]!.segmentSeq, 1234);
    assert.equal(search.body.matches[0]!.startMs, 1234 * 5000, 'the chunk keeps its segment\'s time range');
    assert.ok(search.body.matches[0]!.score > search.body.matches[1]!.score);
    const results = await app.api<{ items: { chunkSeq: number; text: string }[]; nextCursor: string }>('GET', `/api/jobs/${res.body.id}/results?limit=2`, alice);
    assert.deepEqual(results.body.items.map((i) => i.chunkSeq), [0, 1]);
    assert.equal(results.body.nextCursor, '1');
  });

  it('re-ingesting a document replaces its chunks; other users never see them', async () => {
    const first = await app.api<{ id: string }>('POST', '/api/jobs', alice, { kind: 'rag_ingestion', input: { documentId: 'talk-2', segments: transcript(50, 10, 'a purple walrus choir') } });
    await app.waitForStatus(first.body.id, ['completed']);
    const before = await app.api<{ matches: Match[] }>('POST', '/api/rag/search', alice, { query: 'purple walrus choir', k: 1, documentId: 'talk-2' });
    assert.match(before.body.matches[0]!.text, /purple walrus/);
    const second = await app.api<{ id: string }>('POST', '/api/jobs', alice, { kind: 'rag_ingestion', input: { documentId: 'talk-2', segments: transcript(40, 5, 'an orange glacier festival') } });
    await app.waitForStatus(second.body.id, ['completed']);
    const after = await app.api<{ matches: Match[] }>('POST', '/api/rag/search', alice, { query: 'purple walrus choir', k: 40, documentId: 'talk-2' });
    assert.equal(after.body.matches.length, 40, 'only the new version\'s 40 chunks');
    assert.ok(after.body.matches.every((m) => !/walrus/.test(m.text)));
    const { rows } = await app.pool.query<{ n: number }>("select count(*)::int as n from longhaul.rag_chunks where document_id = 'talk-2'");
    assert.equal(rows[0]?.n, 40, 'the old version is gone');
    const stranger = await app.api<{ matches: Match[] }>('POST', '/api/rag/search', bob, { query: 'orange glacier festival', k: 5 });
    assert.deepEqual(stranger.body.matches, []);
    assert.equal((await app.api('POST', '/api/rag/search', null, { query: 'x' })).status, 401);
    assert.equal((await app.api('POST', '/api/rag/search', alice, { query: '' })).status, 400);
  });

  it('rejects duplicate segment numbers before charging', async () => {
    const res = await app.api<{ error: { details: { issues: { path: string }[] } } }>('POST', '/api/jobs', bob, { kind: 'rag_ingestion', input: { documentId: 'd', segments: [{ seq: 1, text: 'a' }, { seq: 1, text: 'b' }] } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details.issues[0]?.path, 'input.segments[1].seq');
  });
});

describe('rag_ingestion with per-segment analysis on Anthropic', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    fake.delayMs = 60;
    app = await startJobsApp({ name: 'rag_analysis', env: { ANTHROPIC_API_KEY: 'ant', ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_RPM: '100000', RAG_CLAUDE_CONCURRENCY: '3', WORKER_CONCURRENCY: '8' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('analyses every segment through Claude, at most RAG_CLAUDE_CONCURRENCY at once, and stores it beside the chunks', async () => {
    const user = await app.createUser(100);
    const res = await app.api<{ id: string; creditsCharged: number }>('POST', '/api/jobs', user, { kind: 'rag_ingestion', input: { documentId: 'a', segments: transcript(40, 2, 'x'), analyze: true } });
    assert.equal(res.body.creditsCharged, 2, 'analysis doubles the price');
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal((job.result as { analyzedSegments: number }).analyzedSegments, 40);
    assert.equal(fake.requests.filter((r) => r.provider === 'anthropic').length, 40);
    assert.ok(fake.maxInFlight <= 3, `at most 3 analyses at once (saw ${fake.maxInFlight})`);
    const results = await app.api<{ items: { analysis: { summary: string; topics: string[] } }[] }>('GET', `/api/jobs/${res.body.id}/results?limit=1`, user);
    assert.match(results.body.items[0]!.analysis.summary, /fake json summary|fake anthropic answer/);
  });
});

describe('rag_ingestion against a provider with smaller caps', () => {
  let fake: AiFake;
  let app: JobsApp;
  before(async () => {
    fake = await startAiFake();
    app = await startJobsApp({ name: 'rag_gemini', env: { GEMINI_API_KEY: 'g', GEMINI_BASE_URL: fake.url, GEMINI_RPM: '100000' } });
  });
  after(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('sizes embedding requests by the provider\'s caps (Gemini: 100 texts), not a fixed batch', async () => {
    const user = await app.createUser(100);
    const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'rag_ingestion', input: { documentId: 'g', segments: transcript(250, 3, 'x') } });
    const job = await app.waitForStatus(res.body.id, ['completed', 'failed'], 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    const sizes = fake.requests.filter((r) => r.operation === 'embed').map((r) => r.inputs!.length);
    // The three requests run in parallel: their order of arrival varies.
    assert.deepEqual([...sizes].sort((a, b) => b - a), [100, 100, 50]);
  });
});
