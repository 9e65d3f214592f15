import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkSegments, embeddingBatches } from '../../shared/kinds/ragIngestion/chunking';

describe('transcript chunking', () => {
  it('cuts on sentence boundaries up to the limit and keeps the segment and its time range', () => {
    const text = 'First sentence here. Second one is a little longer! Third? Fourth sentence ends it.';
    const chunks = chunkSegments([{ seq: 7, text, startMs: 1000, endMs: 9000 }], 40);
    assert.deepEqual(chunks.map((c) => c.text), ['First sentence here.', 'Second one is a little longer! Third?', 'Fourth sentence ends it.']);
    assert.ok(chunks.every((c) => c.text.length <= 40 && c.segmentSeq === 7 && c.startMs === 1000 && c.endMs === 9000));
    assert.deepEqual(chunks.map((c) => c.part), [0, 1, 2]);
  });

  it('cuts a sentence longer than the limit at word boundaries, never loses text', () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkSegments([{ seq: 0, text: long }], 1200);
    assert.ok(chunks.every((c) => c.text.length <= 1200));
    assert.equal(chunks.map((c) => c.text).join(' '), long);
  });

  it('packs embedding requests to the inputs and tokens caps and the configured upper bound', () => {
    const chunks = chunkSegments(Array.from({ length: 10_000 }, (_, i) => ({ seq: i, text: `Segment ${i} talks about things.` })), 1200);
    const openai = embeddingBatches(chunks, { inputsPerRequest: 2048, tokensPerRequest: 300_000, tokensPerInput: 8191 }, 2048);
    assert.ok(openai.length <= 10, `${openai.length} requests for 10,000 chunks (the seed needed 625)`);
    assert.equal(embeddingBatches(chunks, { inputsPerRequest: 100, tokensPerRequest: 1e9, tokensPerInput: 2048 }, 2048).length, 100);
    assert.equal(embeddingBatches(chunks, { inputsPerRequest: 2048, tokensPerRequest: 1e9, tokensPerInput: 2048 }, 16).length, 625);
    const tight = embeddingBatches(chunks, { inputsPerRequest: 2048, tokensPerRequest: 900, tokensPerInput: 8191 }, 2048);
    assert.ok(tight.length >= 80 && tight.length < 100, `a small token budget splits requests (${tight.length})`);
    assert.equal(tight[0]![0], 0);
    assert.equal(tight[tight.length - 1]![1], 9999);
  });
});
