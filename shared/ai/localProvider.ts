/**
 * The offline `local` provider: deterministic, instant, no network — what AI_PROVIDER=auto uses when no key is set,
 * so the whole system runs and is testable offline. Every output says it came from the offline model.
 */
import { createHash } from 'node:crypto';
import { encodePng } from './png';
import type { Embedder, ImageGenerator, TextGenerator, TextRequest, TextResult, Transcriber } from './types';

export const LOCAL_MODEL = 'longhaul-local-1';
// Dimensions of the offline embeddings: enough to keep unrelated texts apart by feature hashing.
const LOCAL_DIMENSIONS = 256;

/** Rough token estimate (about four characters per token, as providers bill English text). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export function createLocalText(): TextGenerator {
  return {
    provider: 'local',
    defaultModel: LOCAL_MODEL,
    async generate(request: TextRequest): Promise<TextResult> {
      const fingerprint = digest(`${request.model ?? ''}|${request.temperature ?? ''}|${request.prompt}`).toString('hex').slice(0, 12);
      if (request.responseSchema) {
        const json = JSON.stringify(sampleFromSchema(request.responseSchema, `[offline local model ${fingerprint}]`));
        return { text: json, provider: 'local', model: LOCAL_MODEL, usage: { requests: 1, inputTokens: estimateTokens(request.prompt), outputTokens: estimateTokens(json) } };
      }
      // Echo the start of the prompt so downstream nodes see their inputs flow through, plus a stable fingerprint.
      const words = request.prompt.replace(/\s+/g, ' ').trim().split(' ').slice(0, 24).join(' ');
      const text = `[offline local model ${fingerprint}] ${words}`;
      return { text, provider: 'local', model: LOCAL_MODEL, usage: { requests: 1, inputTokens: estimateTokens(request.prompt), outputTokens: estimateTokens(text) } };
    },
  };
}

/**
 * Feature hashing: every word (and word pair) of a text adds ±1 to one of 256 dimensions, then the vector is
 * normalised — texts that share words score higher by cosine similarity, with no model at all.
 */
export function hashEmbedding(text: string, dimensions = LOCAL_DIMENSIONS): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const features = [...words, ...words.slice(1).map((w, i) => `${words[i]} ${w}`)];
  for (const feature of features) {
    const h = digest(feature);
    vector[h.readUInt32BE(0) % dimensions]! += h[4]! & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

export function createLocalEmbedder(): Embedder {
  return {
    provider: 'local',
    defaultModel: `${LOCAL_MODEL}-embed`,
    limits: { inputsPerRequest: 2048, tokensPerRequest: 300_000, tokensPerInput: 8191 },
    async embed(request) {
      return {
        vectors: request.texts.map((t) => hashEmbedding(t)),
        provider: 'local',
        model: `${LOCAL_MODEL}-embed`,
        usage: { requests: 1, inputTokens: request.texts.reduce((n, t) => n + estimateTokens(t), 0) },
      };
    },
  };
}

export function createLocalTranscriber(): Transcriber {
  return {
    provider: 'local',
    defaultModel: `${LOCAL_MODEL}-transcribe`,
    maxUploadBytes: 25 * 1024 * 1024,
    async transcribe(request) {
      const text = `[offline local model] placeholder transcript of ${request.filename} (${request.audio.length} bytes): no speech recognition runs without an AI key`;
      return { text, segments: [{ startSec: 0, endSec: 0, text }], provider: 'local', model: `${LOCAL_MODEL}-transcribe`, usage: { requests: 1, audioSeconds: 0 } };
    },
  };
}

const ASPECTS: Record<string, [number, number]> = { '1:1': [64, 64], '16:9': [112, 63], '9:16': [63, 112], '4:3': [84, 63], '3:4': [63, 84] };

export function createLocalImages(): ImageGenerator {
  return {
    provider: 'local',
    defaultModel: `${LOCAL_MODEL}-image`,
    async generate(request) {
      const [w, h] = ASPECTS[request.aspectRatio ?? '1:1'] ?? ASPECTS['1:1']!;
      const seed = digest(request.prompt);
      // A gradient between two colours taken from the prompt: the same prompt always gives the same picture.
      const image = encodePng(w, h, (x, y) => {
        const t = (x + y) / (w + h);
        return [0, 1, 2].map((c) => Math.round(seed[c]! * (1 - t) + seed[c + 3]! * t)) as [number, number, number];
      });
      return { image, contentType: 'image/png', provider: 'local', model: `${LOCAL_MODEL}-image`, usage: { requests: 1, images: 1 } };
    },
  };
}

/**
 * A deterministic value that satisfies a JSON Schema (the subset zod emits: objects, arrays, strings, enums, numbers,
 * booleans): the offline model's answer to a request for structured output. Strings carry the offline label.
 */
export function sampleFromSchema(schema: Record<string, unknown>, label: string, path = 'value'): unknown {
  const type = schema.type;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) return sampleFromSchema(schema.anyOf[0] as Record<string, unknown>, label, path);
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, sampleFromSchema(sub, label, key)]));
    }
    case 'array': {
      const count = Math.max(Number(schema.minItems ?? 0), Math.min(2, Number(schema.maxItems ?? 2)));
      return Array.from({ length: count }, (_, i) => sampleFromSchema((schema.items ?? {}) as Record<string, unknown>, label, `${path} ${i + 1}`));
    }
    case 'integer':
    case 'number': {
      const min = Number(schema.minimum);
      return Number.isFinite(min) && min > 1 ? min : 1;
    }
    case 'boolean':
      return true;
    default:
      return `${label} ${path}`;
  }
}
