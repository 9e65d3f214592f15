/**
 * Kind `rag_ingestion`: a transcript's segments → chunks on sentence boundaries (≤ RAG_EMBEDDING_CHAR_LIMIT) →
 * embedding requests packed to the provider's caps (RAG_EMBEDDING_BATCH is only an upper bound) → vectors, and
 * optionally a per-segment analysis (summary and topics) at most RAG_CLAUDE_CONCURRENCY at a time. The document's
 * new chunks become searchable in one transaction when the job finishes (longhaul.rag_publish).
 */
import { z } from 'zod';
import { getConfig } from '../../config';
import type { Queryable } from '../../db';
import { ValidationError } from '../../errors';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord, PlannedChunk } from '../types';
import { parseModelJson } from '../../ai/json';
import { chunkSegments, embeddingBatches } from './chunking';

const segmentSchema = z.object({
  seq: z.number().int().min(0),
  text: z.string().min(1).max(100_000),
  startMs: z.number().int().min(0).optional(),
  endMs: z.number().int().min(0).optional(),
});

export const ragInputSchema = z.object({
  documentId: z.string().min(1).max(200),
  segments: z.array(segmentSchema).min(1).max(200_000),
  analyze: z.boolean().optional(),
});
export type RagInput = z.infer<typeof ragInputSchema>;

// Analysis runs over this many segments per chunk, one chunk at a time (so the concurrency cap holds job-wide).
const SEGMENTS_PER_ANALYSIS_CHUNK = 30;
const analysisSchema = z.object({ summary: z.string().min(1).max(2000), topics: z.array(z.string().min(1).max(100)).min(1).max(10) });

/** Spreads `total` billable units over `parts` chunks, so each finished chunk counts its share. */
function shareUnits(total: number, parts: number, index: number): number {
  return Math.round(((index + 1) * total) / parts) - Math.round((index * total) / parts);
}

function analyzing(input: RagInput): boolean {
  return input.analyze ?? getConfig().rag.analysis;
}

async function embedChunk(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const { from, to, units } = chunk.input as { from: number; to: number; units: number };
  const { rows } = await ctx.db.query<{ seq: number; text: string }>('select seq, text from longhaul.rag_chunks where job_id = $1 and seq between $2 and $3 and embedding is null order by seq', [ctx.job.id, from, to]);
  if (rows.length > 0) {
    const result = await ctx.ai.embeddings.embed({ texts: rows.map((r) => r.text) });
    await ctx.db.query(
      'update longhaul.rag_chunks c set embedding = x.e::double precision[] from unnest($2::int[], $3::text[]) as x(seq, e) where c.job_id = $1 and c.seq = x.seq',
      [ctx.job.id, rows.map((r) => r.seq), result.vectors.map((v) => `{${v.join(',')}}`)],
    );
    await ctx.addUsage(result.usage);
  }
  return { status: 'done', output: { embedded: rows.length }, items: to - from + 1, units };
}

async function analyzeChunk(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const { segments, units } = chunk.input as { segments: number[]; units: number };
  const { rows } = await ctx.db.query<{ segment_seq: number; text: string }>(
    'select segment_seq, string_agg(text, \' \' order by part) as text from longhaul.rag_chunks where job_id = $1 and segment_seq = any($2) and analysis is null group by segment_seq order by segment_seq',
    [ctx.job.id, segments],
  );
  const schemaJson = z.toJSONSchema(analysisSchema) as Record<string, unknown>;
  const limit = getConfig().rag.analysisConcurrency;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const answer = await ctx.ai.analysis.generate({
        prompt: `Summarise this transcript segment in one or two sentences and list its topics. Answer with JSON only, matching this JSON Schema:\n${JSON.stringify(schemaJson)}\n\nSegment:\n${row.text}`,
        temperature: 0,
        responseSchema: schemaJson,
      });
      await ctx.addUsage(answer.usage);
      const parsed = analysisSchema.safeParse((() => {
        try {
          return parseModelJson(answer.text);
        } catch {
          return undefined;
        }
      })());
      // A segment whose analysis does not parse keeps the raw answer: the embeddings are the job's main product.
      const analysis = parsed.success ? parsed.data : { summary: answer.text.slice(0, 2000), topics: [] };
      await ctx.db.query('update longhaul.rag_chunks set analysis = $3 where job_id = $1 and segment_seq = $2', [ctx.job.id, row.segment_seq, JSON.stringify(analysis)]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(rows.length, 1)) }, worker));
  return { status: 'done', output: { analyzed: rows.length }, items: segments.length, units };
}

export const ragIngestionKind: JobKind<RagInput> = {
  name: 'rag_ingestion',
  schema: ragInputSchema,
  check(input) {
    const seen = new Set<number>();
    input.segments.forEach((s, i) => {
      if (seen.has(s.seq)) throw new ValidationError(`input.segments[${i}].seq: duplicate seq ${s.seq}`, [{ path: `input.segments[${i}].seq`, message: `duplicate seq ${s.seq}` }]);
      seen.add(s.seq);
    });
  },
  units: (input) => Math.ceil(input.segments.length / 100) * (input.analyze ? 2 : 1),
  async planStage(ctx, job, input) {
    const embedUnits = Math.ceil(input.segments.length / 100);
    if (ctx.stage === 0) {
      const chunks = chunkSegments(input.segments, getConfig().rag.charLimit);
      // Written with the plan; a planner that runs twice finds them already there.
      for (let i = 0; i < chunks.length; i += 20_000) {
        const batch = chunks.slice(i, i + 20_000).map((c) => ({ ...c, startMs: c.startMs ?? null, endMs: c.endMs ?? null }));
        await ctx.db.query(
          `insert into longhaul.rag_chunks (job_id, seq, user_id, document_id, segment_seq, part, text, start_ms, end_ms)
           select $1, x.seq, $2, $3, x."segmentSeq", x.part, x.text, x."startMs", x."endMs"
           from jsonb_to_recordset($4::jsonb) as x(seq int, "segmentSeq" int, part int, text text, "startMs" bigint, "endMs" bigint)
           on conflict do nothing`,
          [job.id, job.userId, input.documentId, JSON.stringify(batch)],
        );
      }
      const batches = embeddingBatches(chunks, ctx.ai.embeddings.limits, getConfig().rag.batchLimit);
      const planned: PlannedChunk[] = batches.map(([from, to], i) => ({ input: { from, to, units: shareUnits(embedUnits, batches.length, i) } }));
      return { name: 'embed', chunks: planned, progressItems: chunks.length };
    }
    if (ctx.stage === 1 && analyzing(input)) {
      const seqs = [...new Set(input.segments.map((s) => s.seq))].sort((a, b) => a - b);
      const parts = Math.ceil(seqs.length / SEGMENTS_PER_ANALYSIS_CHUNK);
      const analysisUnits = input.analyze ? embedUnits : 0;
      const planned: PlannedChunk[] = Array.from({ length: parts }, (_, i) => ({
        input: { segments: seqs.slice(i * SEGMENTS_PER_ANALYSIS_CHUNK, (i + 1) * SEGMENTS_PER_ANALYSIS_CHUNK), units: shareUnits(analysisUnits, parts, i) },
        // One analysis chunk at a time: RAG_CLAUDE_CONCURRENCY then bounds the whole job's calls.
        after: i - 1,
      }));
      return { name: 'analyze', chunks: planned, progressItems: seqs.length };
    }
    return null;
  },
  runChunk: (ctx, chunk) => (chunk.stage === 0 ? embedChunk(ctx, chunk) : analyzeChunk(ctx, chunk)),
  async finish(db: Queryable, job: JobRecord) {
    const stages = await db.query<{ stage: number; chunk_count: number }>('select stage, chunk_count from longhaul.job_stages where job_id = $1', [job.id]);
    const info = await db.query<{ document_id: string; chunks: number; segments: number; dims: number | null; analyzed: number }>(
      `select document_id, count(*)::int as chunks, count(distinct segment_seq)::int as segments, max(array_length(embedding, 1)) as dims,
              count(distinct segment_seq) filter (where analysis is not null)::int as analyzed
       from longhaul.rag_chunks where job_id = $1 group by document_id`,
      [job.id],
    );
    const row = info.rows[0];
    await db.query('select longhaul.rag_publish($1, $2)', [job.id, `dims:${row?.dims ?? 0}`]);
    return {
      documentId: row?.document_id,
      segments: row?.segments ?? 0,
      chunks: row?.chunks ?? 0,
      dimensions: row?.dims ?? 0,
      embeddingRequests: stages.rows.find((s) => s.stage === 0)?.chunk_count ?? 0,
      analyzedSegments: row?.analyzed ?? 0,
    };
  },
  async results(db, job, after, limit) {
    const { rows } = await db.query<{ seq: number; segment_seq: number; part: number; text: string; start_ms: string | null; end_ms: string | null; analysis: unknown }>(
      'select seq, segment_seq, part, text, start_ms, end_ms, analysis from longhaul.rag_chunks where job_id = $1 and seq > $2 order by seq limit $3',
      [job.id, after, limit],
    );
    return rows.map((r) => ({
      seq: r.seq,
      item: { chunkSeq: r.seq, segmentSeq: r.segment_seq, part: r.part, text: r.text, startMs: r.start_ms === null ? null : Number(r.start_ms), endMs: r.end_ms === null ? null : Number(r.end_ms), analysis: r.analysis },
    }));
  },
};
