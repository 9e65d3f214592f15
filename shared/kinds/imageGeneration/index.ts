/**
 * Kind `image_generation`: prompts × imagesPerPrompt images, one chunk per image, through the image capability (the
 * Gemini image model, or OpenAI images) under the shared rate limiter; each image goes to blob storage (read-only SAS
 * URL) or a Supabase Storage bucket (signed URL), as IMAGE_STORAGE says. A prompt the provider blocks fails that image only: the job completes with per-image status
 * and the blocked images' credits are refunded (complete_job refunds units not produced).
 */
import { z } from 'zod';
import { NonRetriableError } from '../../errors';
import type { Queryable } from '../../db';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord } from '../types';

// Beyond this a single job would hold a provider's whole per-minute budget for hours.
const MAX_IMAGES = 1000;

export const imageInputSchema = z
  .object({
    prompts: z.array(z.string().min(1).max(4000)).min(1).max(MAX_IMAGES),
    imagesPerPrompt: z.number().int().min(1).max(10).default(1),
    aspectRatio: z.enum(['1:1', '16:9', '9:16', '4:3', '3:4']).default('1:1'),
  })
  .refine((i) => i.prompts.length * i.imagesPerPrompt <= MAX_IMAGES, { message: `at most ${MAX_IMAGES} images per job`, path: ['imagesPerPrompt'] });
export type ImageInput = z.infer<typeof imageInputSchema>;

interface ImageChunk {
  key: string;
  prompt: string;
  aspectRatio: string;
}

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

async function generateOne(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const { key, prompt, aspectRatio } = chunk.input as ImageChunk;
  try {
    const image = await ctx.ai.images.generate({ prompt, aspectRatio });
    const stored = await ctx.outputs().put(`${ctx.job.id}/${key}.${EXTENSIONS[image.contentType] ?? 'bin'}`, image.image, image.contentType);
    await ctx.completeItems([{ key, status: 'done', output: { prompt, url: stored.url, contentType: stored.contentType, bytes: stored.bytes, model: image.model }, usage: image.usage }]);
    await ctx.addUsage(image.usage);
  } catch (err) {
    // A refusal is this image's outcome, not the job's: record it and carry on with the others.
    if (!(err instanceof NonRetriableError)) throw err;
    await ctx.completeItems([{ key, status: 'failed', error: { message: err.message } }]);
  }
  return { status: 'done' };
}

export const imageGenerationKind: JobKind<ImageInput> = {
  name: 'image_generation',
  schema: imageInputSchema as unknown as z.ZodType<ImageInput>,
  units: (input) => input.prompts.length * input.imagesPerPrompt,
  async planStage(ctx, _job, input) {
    if (ctx.stage > 0) return null;
    const images = input.prompts.flatMap((prompt, p) => Array.from({ length: input.imagesPerPrompt }, (_, n) => ({ key: `p${p}-${n + 1}`, prompt })));
    return {
      name: 'images',
      chunks: images.map((image) => ({ input: { ...image, aspectRatio: input.aspectRatio } satisfies ImageChunk })),
      items: images.map((image, seq) => ({ key: image.key, seq, units: 1, input: { prompt: image.prompt } })),
    };
  },
  runChunk: generateOne,
  async finish(db: Queryable, job: JobRecord) {
    const { rows } = await db.query<{ key: string; status: string; input: { prompt: string }; output: { url: string; contentType: string } | null; error: { message: string } | null }>(
      'select key, status, input, output, error from longhaul.job_items where job_id = $1 order by seq',
      [job.id],
    );
    const done = rows.filter((r) => r.status === 'done' && r.output);
    return {
      images: done.map((r) => ({ prompt: r.input.prompt, url: r.output!.url, contentType: r.output!.contentType })),
      failed: rows.filter((r) => r.status !== 'done').map((r) => ({ prompt: r.input.prompt, error: r.error?.message ?? r.status })),
      generated: done.length,
      requested: rows.length,
    };
  },
  formatItem: (item) => ({ key: item.key, status: item.status, ...(item.output as object | null), error: item.error }),
};
