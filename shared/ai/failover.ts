/**
 * Optional failover per capability (AI_FAILOVER_PROVIDER): after repeated transient failures of the primary provider
 * (429, 5xx, timeouts), calls go to the secondary for a cool-down, then the primary is tried again. Errors that a
 * second provider would repeat (bad input, content blocks) never fail over.
 */
import { RetryAfterError } from '../errors';
import type { AiServices } from './types';

export interface FailoverOptions {
  /** Consecutive transient failures of the primary before switching. */
  threshold: number;
  coolDownMs: number;
  now?: () => number;
}

class Breaker {
  #failures = 0;
  #openUntil = 0;
  constructor(private readonly opts: FailoverOptions) {}
  usePrimary(): boolean {
    return (this.opts.now ?? Date.now)() >= this.#openUntil;
  }
  async run<T>(primary: () => Promise<T>, secondary: () => Promise<T>): Promise<T> {
    if (!this.usePrimary()) return secondary();
    try {
      const result = await primary();
      this.#failures = 0;
      return result;
    } catch (err) {
      if (!(err instanceof RetryAfterError)) throw err;
      if (++this.#failures < this.opts.threshold) throw err;
      this.#failures = 0;
      this.#openUntil = (this.opts.now ?? Date.now)() + this.opts.coolDownMs;
      return secondary();
    }
  }
}

export function withFailover(primary: AiServices, secondary: AiServices, opts: FailoverOptions): AiServices {
  const text = new Breaker(opts);
  const analysis = new Breaker(opts);
  const embeddings = new Breaker(opts);
  const transcription = new Breaker(opts);
  const images = new Breaker(opts);
  return {
    text: { ...primary.text, generate: (r, s) => text.run(() => primary.text.generate(r, s), () => secondary.text.generate({ ...r, model: undefined }, s)) },
    analysis: { ...primary.analysis, generate: (r, s) => analysis.run(() => primary.analysis.generate(r, s), () => secondary.analysis.generate({ ...r, model: undefined }, s)) },
    embeddings: { ...primary.embeddings, embed: (r, s) => embeddings.run(() => primary.embeddings.embed(r, s), () => secondary.embeddings.embed({ ...r, model: undefined }, s)) },
    transcription: {
      ...primary.transcription,
      transcribe: (r, s) => transcription.run(() => primary.transcription.transcribe(r, s), () => secondary.transcription.transcribe({ ...r, model: undefined }, s)),
    },
    images: { ...primary.images, generate: (r, s) => images.run(() => primary.images.generate(r, s), () => secondary.images.generate({ ...r, model: undefined }, s)) },
  };
}
