/**
 * AI capabilities behind one small interface each (inngest-js adapter style). Provider-specific types stay inside the
 * provider modules; every call returns its usage so the engine can account for it.
 */

export interface TextRequest {
  prompt: string;
  model?: string;
  temperature?: number;
  maxOutputTokens?: number;
}

export interface TextResult {
  text: string;
  provider: string;
  model: string;
  usage: { requests: number; inputTokens: number; outputTokens: number };
}

/** Text generation: one prompt in, one completion out. */
export interface TextGenerator {
  readonly provider: string;
  /** Model used when a request names none (a deployment name on Azure). */
  readonly defaultModel: string;
  generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult>;
}

/** The capabilities a chunk may use. More arrive with the providers issue (embeddings, transcription, images). */
export interface AiServices {
  text: TextGenerator;
}
