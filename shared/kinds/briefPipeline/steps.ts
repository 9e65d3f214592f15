/**
 * The brief pipeline's steps, exactly as the seed ran them, with the JSON each step must return. A step's schema is
 * both the validator of the model's answer and (as JSON Schema) the shape asked of the model.
 */
import { z } from 'zod';

export const MEDIA_STEPS = {
  video: ['analysis', 'asset_prep', 'video_generation', 'render'],
  image: ['analysis', 'asset_prep', 'image_processing', 'render'],
  audio: ['analysis', 'asset_prep', 'render'],
  text: ['analysis', 'text_analysis', 'render'],
} as const;

export type MediaType = keyof typeof MEDIA_STEPS;
export type StepType = (typeof MEDIA_STEPS)[MediaType][number];

const text = (max: number) => z.string().min(1).max(max);

export const STEP_SCHEMAS = {
  analysis: z.object({
    summary: text(4000),
    audience: text(1000),
    keyMessages: z.array(text(500)).min(1).max(10),
    tone: text(200),
  }),
  asset_prep: z.object({
    assets: z.array(z.object({ type: text(100), description: text(1000) })).min(1).max(20),
    notes: text(2000),
  }),
  video_generation: z.object({
    script: text(20_000),
    shots: z.array(z.object({ number: z.number().int().min(1), description: text(1000), durationSec: z.number().positive().max(600) })).min(1).max(60),
  }),
  image_processing: z.object({
    // One to four images per brief: each prompt becomes an image through the image capability.
    prompts: z.array(text(2000)).min(1).max(4),
    style: text(500),
  }),
  text_analysis: z.object({
    outline: z.array(z.object({ heading: text(300), points: z.array(text(1000)).min(1).max(10) })).min(1).max(20),
  }),
  render: z.object({
    headline: text(300),
    summary: text(4000),
    sections: z.array(z.object({ heading: text(300), body: text(10_000) })).min(1).max(20),
  }),
} satisfies Record<StepType, z.ZodType>;

const INSTRUCTIONS: Record<StepType, string> = {
  analysis: 'Analyse the creative brief: summarise it, name the audience, list the key messages and the tone.',
  asset_prep: 'List the assets the production needs (type and description) and any notes for the producers.',
  video_generation: 'Write the video script and a numbered shot list with a duration in seconds for each shot.',
  image_processing: 'Write one to four image-generation prompts for the brief, and the visual style they share.',
  text_analysis: 'Outline the written piece: sections with headings and the points each makes.',
  render: 'Assemble the final deliverable from the previous steps: a headline, a summary and the sections of the document.',
};

export const briefSchema = z.object({
  title: text(200),
  description: z.string().max(10_000).optional(),
  query: text(4000),
  mediaType: z.enum(['video', 'image', 'audio', 'text']),
});

export type BriefInput = z.infer<typeof briefSchema>;

/** The prompt of one step: the brief, what earlier steps produced, the task and the JSON shape expected. */
export function stepPrompt(step: StepType, brief: BriefInput, previous: Record<string, unknown>, schemaJson: unknown, complaint?: string): string {
  return [
    `You are one step ("${step}") of a production pipeline for a ${brief.mediaType} brief.`,
    INSTRUCTIONS[step],
    `Brief:\n${JSON.stringify({ title: brief.title, description: brief.description ?? '', query: brief.query })}`,
    Object.keys(previous).length ? `Earlier steps:\n${JSON.stringify(previous)}` : '',
    `Answer with one JSON object only, matching this JSON Schema:\n${JSON.stringify(schemaJson)}`,
    complaint ? `Your previous answer was rejected: ${complaint}. Answer again with valid JSON only.` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}
