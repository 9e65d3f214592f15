/**
 * Transcript chunking for embeddings: each segment is cut on sentence boundaries into pieces of at most `limit`
 * characters (a sentence longer than the limit is cut at word boundaries); every piece keeps its segment's sequence
 * number and time range. Embedding requests are then packed to the provider's caps.
 */
import { estimateTokens } from '../../ai/localProvider';

export interface Segment {
  seq: number;
  text: string;
  startMs?: number;
  endMs?: number;
}

export interface TextChunk {
  seq: number;
  segmentSeq: number;
  part: number;
  text: string;
  startMs?: number;
  endMs?: number;
}

const SENTENCE_END = /(?<=[.!?…。！？])\s+/u;

function cutLong(sentence: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > limit) {
    const space = rest.lastIndexOf(' ', limit);
    const at = space > limit / 2 ? space : limit;
    pieces.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

export function chunkSegments(segments: Segment[], limit: number): TextChunk[] {
  const chunks: TextChunk[] = [];
  for (const segment of [...segments].sort((a, b) => a.seq - b.seq)) {
    const sentences = segment.text.trim().split(SENTENCE_END).flatMap((s) => cutLong(s.trim(), limit)).filter(Boolean);
    let current = '';
    let part = 0;
    const push = (): void => {
      if (!current) return;
      chunks.push({ seq: chunks.length, segmentSeq: segment.seq, part: part++, text: current, startMs: segment.startMs, endMs: segment.endMs });
      current = '';
    };
    for (const sentence of sentences) {
      if (current && current.length + 1 + sentence.length > limit) push();
      current = current ? `${current} ${sentence}` : sentence;
    }
    push();
  }
  return chunks;
}

export interface EmbeddingCaps {
  inputsPerRequest: number;
  tokensPerRequest: number;
  tokensPerInput: number;
}

/** Packs chunks into as few requests as the caps allow: [from, to] seq ranges, inclusive. */
export function embeddingBatches(chunks: TextChunk[], caps: EmbeddingCaps, upperBound: number): [number, number][] {
  const maxInputs = Math.max(1, Math.min(caps.inputsPerRequest, upperBound));
  const batches: [number, number][] = [];
  let start = 0;
  let tokens = 0;
  chunks.forEach((chunk, i) => {
    const t = Math.min(estimateTokens(chunk.text), caps.tokensPerInput);
    if (i > start && (i - start >= maxInputs || tokens + t > caps.tokensPerRequest)) {
      batches.push([chunks[start]!.seq, chunks[i - 1]!.seq]);
      start = i;
      tokens = 0;
    }
    tokens += t;
  });
  if (chunks.length > start) batches.push([chunks[start]!.seq, chunks[chunks.length - 1]!.seq]);
  return batches;
}
