/**
 * Kind `recording_analysis`: an audio or video file (≤ MAX_FILE_SIZE_MB) → streamed to disk → audio split by ffmpeg
 * into segments far under the 25 MB transcription cap → segments to blob storage (so stages may run on different
 * instances) → one chunk per segment, transcribed in parallel under the shared limiter → merged with global timestamps →
 * analysis (summary, key points, action items), map-reduced so no call exceeds a model's context.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseModelJson } from '../../ai/json';
import { getConfig } from '../../config';
import type { Queryable } from '../../db';
import { NonRetriableError, ValidationError } from '../../errors';
import { downloadToFile } from '../../media/download';
import { probe, splitAudio } from '../../media/ffmpeg';
import { resolveRecordingUrl } from '../../media/source';
import { isStorageUrl, parseOwnedStorageUrl, parseStorageUrl } from '../../storage/storagePath';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord } from '../types';

export const recordingInputSchema = z.object({
  url: z.string().superRefine((u, ctx) => {
    if (/^https?:\/\/\S+$/.test(u)) return;
    // A storage:// URL names its problem (bucket, folder, segment); the owner's folder is checked in checkOwner.
    const storage = isStorageUrl(u) ? parseStorageUrl(u) : undefined;
    if (!storage?.ok) ctx.addIssue({ code: 'custom', message: storage ? storage.problem : 'an http(s) URL or storage://recordings/<user id>/<file>' });
  }),
  language: z.string().regex(/^[a-z]{2}$/, 'an ISO-639-1 code such as en').optional(),
  analyze: z.boolean().default(true),
});
export type RecordingInput = z.infer<typeof recordingInputSchema>;

interface PreparedSegment {
  index: number;
  blob: string;
  startSec: number;
  endSec: number;
}

// A recording is sold as ten tenths (10 credits, longhaul.units_recording_analysis): its segments carry them between
// them, so a cancel or failure part-way refunds the tenths of the segments that never ran.
export const RECORDING_UNITS = 10;

/** Billable tenths carried by segment `index` of `count`: cumulative shares rounded down, summing to RECORDING_UNITS. */
export function segmentUnits(index: number, count: number): number {
  return Math.floor((RECORDING_UNITS * (index + 1)) / count) - Math.floor((RECORDING_UNITS * index) / count);
}

// Map step of the analysis: transcript pieces of at most this many characters (~6,000 tokens) per call.
const MAP_CHARS = 24_000;
const analysisSchema = z.object({ summary: z.string(), keyPoints: z.array(z.string()), actionItems: z.array(z.string()) });

async function prepare(ctx: ChunkContext): Promise<ChunkOutcome> {
  const job = await ctx.db.query<{ input: RecordingInput }>('select input from public.jobs where id = $1', [ctx.job.id]);
  const input = recordingInputSchema.parse(job.rows[0]?.input);
  const { maxBytes, segmentSec, allowPrivateUrls } = getConfig().recordings;
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-rec-'));
  try {
    const file = join(dir, 'recording');
    // A signed Storage URL comes from our own settings (SUPABASE_URL) and is trusted; a user's URL must be public.
    const trusted = isStorageUrl(input.url);
    await downloadToFile(await resolveRecordingUrl(input.url, ctx.job.userId), file, { maxBytes, allowPrivate: trusted || allowPrivateUrls });
    const media = await probe(file, { deadline: ctx.deadline });
    if (!media) throw new NonRetriableError('the file is not an audio or video recording ffmpeg can read');
    // ffmpeg is killed at the chunk's deadline: a recording that cannot be prepared within the budget fails, refunded.
    const pieces = await splitAudio(file, dir, segmentSec, { deadline: ctx.deadline });
    const segments: PreparedSegment[] = [];
    for (const [index, piece] of pieces.entries()) {
      const blob = `${ctx.job.id}/segments/${String(index).padStart(4, '0')}.mp3`;
      await ctx.files().putFile(blob, piece.file, 'audio/mpeg');
      segments.push({ index, blob, startSec: piece.startSec, endSec: piece.endSec });
    }
    return { status: 'done', output: { durationSec: media.durationSec, hasVideo: media.hasVideo, segments } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function transcribe(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const segment = chunk.input as PreparedSegment & { language?: string };
  const audio = await ctx.files().get(segment.blob);
  const result = await ctx.ai.transcription.transcribe({ audio, filename: `segment-${segment.index}.mp3`, language: segment.language });
  // Timestamps become global: each piece's own times plus where the piece starts in the recording.
  const length = segment.endSec - segment.startSec;
  // A provider without timings (the offline model) reports an empty span: the text then covers the whole piece.
  const segments = result.segments.map((s) => ({ startSec: round(segment.startSec + s.startSec), endSec: round(segment.startSec + (s.endSec > s.startSec ? Math.min(s.endSec, length) : length)), text: s.text }));
  await ctx.completeItems([{ key: `segment-${segment.index}`, status: 'done', output: { text: result.text, segments }, usage: result.usage }]);
  await ctx.addUsage({ ...result.usage, audioSeconds: result.usage.audioSeconds || segment.endSec - segment.startSec });
  return { status: 'done' };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

async function analyse(ctx: ChunkContext): Promise<ChunkOutcome> {
  const { rows } = await ctx.db.query<{ output: { text: string } }>("select output from longhaul.job_items where job_id = $1 and key like 'segment-%' and status = 'done' order by seq", [ctx.job.id]);
  const text = rows.map((r) => r.output.text).join('\n');
  const schemaJson = z.toJSONSchema(analysisSchema) as Record<string, unknown>;
  const ask = async (what: string, body: string): Promise<z.infer<typeof analysisSchema>> => {
    const answer = await ctx.ai.analysis.generate({ prompt: `${what} Answer with JSON only, matching this JSON Schema:\n${JSON.stringify(schemaJson)}\n\n${body}`, temperature: 0, responseSchema: schemaJson });
    await ctx.addUsage(answer.usage);
    try {
      return analysisSchema.parse(parseModelJson(answer.text));
    } catch {
      return { summary: answer.text, keyPoints: [], actionItems: [] };
    }
  };
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += MAP_CHARS) pieces.push(text.slice(i, i + MAP_CHARS));
  const partials = [];
  for (const piece of pieces) partials.push(await ask('Summarise this part of a recording transcript: a summary, its key points and any action items.', piece));
  const analysis = partials.length === 1 ? partials[0]! : await ask('Combine these partial analyses of one recording into one: summary, key points, action items.', JSON.stringify(partials));
  return { status: 'done', output: analysis };
}

export const recordingAnalysisKind: JobKind<RecordingInput> = {
  name: 'recording_analysis',
  schema: recordingInputSchema as unknown as z.ZodType<RecordingInput>,
  units: () => RECORDING_UNITS,
  checkOwner(input, userId) {
    // Refused at submission rather than charged, run and refunded: a storage:// object must be in the owner's folder.
    const storage = isStorageUrl(input.url) ? parseOwnedStorageUrl(input.url, userId) : undefined;
    if (storage && !storage.ok) throw new ValidationError(`input.url: ${storage.problem}`, [{ path: 'input.url', message: storage.problem }]);
  },
  async planStage(ctx, _job, input) {
    if (ctx.stage === 0) return { name: 'prepare', chunks: [{ input: {} }], progressItems: 0 };
    if (ctx.stage === 1) {
      const [prepared] = (await ctx.previousOutputs()) as { segments: PreparedSegment[] }[];
      const segments = prepared?.segments ?? [];
      return {
        name: 'transcribe',
        chunks: segments.map((s) => ({ input: { ...s, language: input.language } })),
        items: segments.map((s) => ({ key: `segment-${s.index}`, seq: s.index, units: segmentUnits(s.index, segments.length) })),
      };
    }
    if (ctx.stage === 2 && input.analyze) return { name: 'analyze', chunks: [{ input: {} }], progressItems: 0 };
    return null;
  },
  runChunk: (ctx, chunk) => (chunk.stage === 0 ? prepare(ctx) : chunk.stage === 1 ? transcribe(ctx, chunk) : analyse(ctx)),
  async finish(db: Queryable, job: JobRecord) {
    const prepared = await db.query<{ output: { durationSec: number } }>('select output from longhaul.job_chunks where job_id = $1 and stage = 0', [job.id]);
    const items = await db.query<{ output: { text: string; segments: { startSec: number; endSec: number; text: string }[] } }>(
      "select output from longhaul.job_items where job_id = $1 and status = 'done' order by seq",
      [job.id],
    );
    const analysis = await db.query<{ output: unknown }>('select output from longhaul.job_chunks where job_id = $1 and stage = 2', [job.id]);
    return {
      durationSec: prepared.rows[0]?.output.durationSec ?? 0,
      transcript: { text: items.rows.map((r) => r.output.text).join(' '), segments: items.rows.flatMap((r) => r.output.segments) },
      analysis: analysis.rows[0]?.output ?? null,
    };
  },
};
