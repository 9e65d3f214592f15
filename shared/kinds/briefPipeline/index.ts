/**
 * Kind `brief_pipeline`: a creative brief through the seed's steps (video: analysis → asset_prep → video_generation →
 * render; image: … → image_processing → render; audio: analysis → asset_prep → render; text: analysis → text_analysis
 * → render). One stage per step, one chunk each; every step asks the text capability for JSON of the step's shape,
 * validates it and re-asks (at most twice) when it does not fit. `image_processing` turns its prompts into images.
 */
import { z } from 'zod';
import { parseModelJson } from '../../ai/json';
import type { Queryable } from '../../db';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord, Usage } from '../types';
import { briefSchema, MEDIA_STEPS, STEP_SCHEMAS, stepPrompt, type BriefInput, type StepType } from './steps';

// One answer and at most two re-asks: a model that cannot produce the shape in three tries will not in ten.
const MAX_TRIES = 3;


function complaintOf(error: unknown): string {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return `${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
  }
  return `not a JSON object (${(error as Error).message})`;
}

async function runStep(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const step = (chunk.input as { step: StepType }).step;
  const job = await ctx.db.query<{ input: BriefInput }>('select input from public.jobs where id = $1', [ctx.job.id]);
  const brief = briefSchema.parse(job.rows[0]?.input);
  const done = await ctx.db.query<{ key: string; output: unknown }>("select key, output from longhaul.job_items where job_id = $1 and status = 'done' order by seq", [ctx.job.id]);
  const previous = Object.fromEntries(done.rows.filter((r) => r.key !== step).map((r) => [r.key, r.output]));
  const schema = STEP_SCHEMAS[step] as z.ZodType<Record<string, unknown>>;
  const schemaJson = z.toJSONSchema(schema);
  const usage: Required<Pick<Usage, 'requests' | 'inputTokens' | 'outputTokens'>> & { images: number } = { requests: 0, inputTokens: 0, outputTokens: 0, images: 0 };
  let output: Record<string, unknown> | undefined;
  let complaint: string | undefined;
  for (let attempt = 0; attempt < MAX_TRIES && !output; attempt++) {
    const answer = await ctx.ai.text.generate({ prompt: stepPrompt(step, brief, previous, schemaJson, complaint), temperature: 0.4, responseSchema: schemaJson as Record<string, unknown> });
    usage.requests += answer.usage.requests;
    usage.inputTokens += answer.usage.inputTokens;
    usage.outputTokens += answer.usage.outputTokens;
    try {
      output = schema.parse(parseModelJson(answer.text));
    } catch (err) {
      complaint = complaintOf(err);
    }
  }
  if (!output) {
    const message = `step ${step}: the model did not return valid JSON in ${MAX_TRIES} tries (${complaint})`;
    await ctx.completeItems([{ key: step, status: 'failed', error: { message } }]);
    await ctx.addUsage(usage);
    return { status: 'failed', error: { message, code: 'invalid_model_output', key: step } };
  }
  if (step === 'image_processing') {
    const images = [];
    for (const [i, prompt] of (output.prompts as string[]).entries()) {
      const image = await ctx.ai.images.generate({ prompt: `${prompt}\nStyle: ${String(output.style)}`, aspectRatio: brief.mediaType === 'image' ? '1:1' : '16:9' });
      usage.requests += image.usage.requests;
      usage.images += image.usage.images;
      const name = `image-${i + 1}.${image.contentType === 'image/jpeg' ? 'jpg' : image.contentType === 'image/webp' ? 'webp' : 'png'}`;
      await ctx.db.query('insert into longhaul.job_files (job_id, name, content_type, data) values ($1, $2, $3, $4) on conflict (job_id, name) do nothing', [ctx.job.id, name, image.contentType, image.image]);
      images.push({ prompt, url: `/api/jobs/${ctx.job.id}/files/${name}`, contentType: image.contentType });
    }
    output = { ...output, images };
  }
  await ctx.completeItems([{ key: step, status: 'done', output, usage }]);
  await ctx.addUsage(usage);
  return { status: 'done' };
}

/** The final document as Markdown, from the render step (and the images, when there are any). */
export function renderMarkdown(render: { headline: string; summary: string; sections: { heading: string; body: string }[] }, images: { prompt: string; url: string }[] = []): string {
  return [
    `# ${render.headline}`,
    render.summary,
    ...render.sections.map((s) => `## ${s.heading}\n\n${s.body}`),
    ...(images.length ? [`## Images\n\n${images.map((img) => `![${img.prompt.replace(/[[\]\n]/g, ' ').slice(0, 120)}](${img.url})`).join('\n')}`] : []),
  ].join('\n\n');
}

async function finish(db: Queryable, job: JobRecord): Promise<unknown> {
  const { rows } = await db.query<{ key: string; status: string; output: Record<string, unknown> | null }>('select key, status, output from longhaul.job_items where job_id = $1 order by seq', [job.id]);
  const steps = rows.map((r) => ({ type: r.key, status: r.status, output: r.output }));
  const render = STEP_SCHEMAS.render.parse(rows.find((r) => r.key === 'render')?.output);
  const images = (rows.find((r) => r.key === 'image_processing')?.output?.images ?? []) as { prompt: string; url: string }[];
  return { steps, final: { document: render, markdown: renderMarkdown(render, images) } };
}

export const briefPipelineKind: JobKind<BriefInput> = {
  name: 'brief_pipeline',
  schema: briefSchema,
  units: (input) => MEDIA_STEPS[input.mediaType].length,
  async planStage(ctx, _job, input) {
    const steps = MEDIA_STEPS[input.mediaType];
    const step = steps[ctx.stage];
    if (!step) return null;
    // All steps are items from the start, so progress reads "step k of n" and results list every step's status.
    const first = ctx.stage === 0;
    return { name: step, chunks: [{ input: { step } }], items: first ? steps.map((s, seq) => ({ key: s, seq, units: 1 })) : [], progressItems: first ? steps.length : 0 };
  },
  runChunk: runStep,
  finish,
  formatItem: (item) => ({ type: item.key, status: item.status, output: item.output, error: item.error }),
};
