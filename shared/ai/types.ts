/**
 * AI capabilities behind one small interface each (inngest-js adapter style). Provider-specific types stay inside the
 * provider modules; every call returns its usage so the engine can account and rate-limit.
 */

/** Provider usage of one call (summed per job). */
export interface AiUsage {
  requests: number;
  inputTokens?: number;
  outputTokens?: number;
  images?: number;
  audioSeconds?: number;
}

export interface TextRequest {
  prompt: string;
  model?: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** Ask for a JSON answer shaped by this JSON Schema (providers' JSON modes; the caller still validates). */
  responseSchema?: Record<string, unknown>;
}

export interface TextResult {
  text: string;
  provider: string;
  model: string;
  usage: { requests: number; inputTokens: number; outputTokens: number };
  /** The provider said its budget is spent (x-ratelimit-remaining-* = 0): everyone should wait this long. */
  rateLimitHint?: { pauseMs: number };
}

/** Text generation: one prompt in, one completion out. */
export interface TextGenerator {
  readonly provider: string;
  /** Model used when a request names none (a deployment name on Azure). */
  readonly defaultModel: string;
  generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult>;
}

export interface EmbedRequest {
  texts: string[];
  model?: string;
}

export interface EmbedResult {
  vectors: number[][];
  provider: string;
  model: string;
  usage: { requests: number; inputTokens: number };
}

/** Embeddings: many texts per request, up to the provider's caps. */
export interface Embedder {
  readonly provider: string;
  readonly defaultModel: string;
  /** The provider's real caps per request: callers size batches by these, not by a fixed number. */
  readonly limits: { inputsPerRequest: number; tokensPerRequest: number; tokensPerInput: number };
  embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult>;
}

export interface TranscriptSegment {
  startSec: number;
  endSec: number;
  text: string;
}

export interface TranscribeRequest {
  audio: Buffer;
  filename: string;
  model?: string;
  language?: string;
}

export interface TranscribeResult {
  text: string;
  segments: TranscriptSegment[];
  durationSec?: number;
  provider: string;
  model: string;
  usage: { requests: number; audioSeconds: number };
}

/** Speech to text for one audio file under the provider's upload cap (25 MB for OpenAI and Azure). */
export interface Transcriber {
  readonly provider: string;
  readonly defaultModel: string;
  readonly maxUploadBytes: number;
  transcribe(request: TranscribeRequest, signal?: AbortSignal): Promise<TranscribeResult>;
}

export interface ImageRequest {
  prompt: string;
  model?: string;
  /** "1:1", "16:9", "9:16", "4:3", "3:4". */
  aspectRatio?: string;
}

export interface ImageResult {
  image: Buffer;
  contentType: string;
  provider: string;
  model: string;
  usage: { requests: number; images: number };
}

/** Image generation: one prompt, one image. */
export interface ImageGenerator {
  readonly provider: string;
  readonly defaultModel: string;
  generate(request: ImageRequest, signal?: AbortSignal): Promise<ImageResult>;
}

/** The capabilities a chunk may use. */
export interface AiServices {
  text: TextGenerator;
  /** Text generation for analysis (summaries, topics): Anthropic when configured, as the seed's RAG worker used Claude. */
  analysis: TextGenerator;
  embeddings: Embedder;
  transcription: Transcriber;
  images: ImageGenerator;
}
