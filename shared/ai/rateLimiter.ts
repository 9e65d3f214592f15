/**
 * Shared rate limiting (requests and tokens per minute per provider, model and key) through Postgres, so every
 * process and instance draws from one budget, plus a per-instance cap on calls in flight (WORKER_CONCURRENCY).
 * Short waits are slept in place; a wait longer than the caller's patience becomes a RetryAfterError, which the
 * engine turns into a durable timer instead of a sleeping activity.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db';
import { RetryAfterError } from '../errors';
import { telemetry } from '../telemetry';
import { estimateTokens } from './localProvider';
import type { AiServices } from './types';

export interface RateLimit {
  rpm: number;
  /** Tokens per minute; 0 or absent: not limited. */
  tpm?: number;
}

export interface SharedLimiter {
  /** Waits for a slot (at most maxWaitMs), or throws RetryAfterError with the wait when it is longer. */
  acquire(key: string, limit: RateLimit, tokens: number, maxWaitMs: number): Promise<void>;
  consume(key: string, limit: RateLimit, tokens: number): Promise<void>;
  pause(key: string, untilMs: number): Promise<void>;
}

export function createPgLimiter(db: Queryable): SharedLimiter {
  return {
    async acquire(key, limit, tokens, maxWaitMs) {
      const { rows } = await db.query<{ r: number }>('select longhaul.rate_acquire($1, $2, $3, $4, $5) as r', [key, limit.rpm, limit.tpm ?? 0, tokens, maxWaitMs]);
      const r = rows[0]!.r;
      if (r > 0) throw new RetryAfterError(`rate limit of ${key.split('#')[0]}: next slot in ${r} ms`, r);
      const wait = -r - 1;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    },
    async consume(key, limit, tokens) {
      if (limit.tpm && tokens > 0) await db.query('select longhaul.rate_consume($1, $2, $3)', [key, limit.tpm, tokens]);
    },
    async pause(key, untilMs) {
      await db.query('select longhaul.rate_pause($1, $2)', [key, new Date(untilMs)]);
    },
  };
}

/** A counting semaphore: at most `size` holders at once in this process. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** The limiter's key: provider, model and a hash of the API key (never the key itself). */
export function limitKey(provider: string, model: string, apiKey: string): string {
  return `${provider}:${model}#${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

export interface LimitOptions {
  limiter: SharedLimiter;
  limitFor(model: string): RateLimit;
  apiKey: string;
  maxWaitMs: number;
  inFlight: Semaphore;
}

/**
 * Runs one provider call under the shared limit: a slot (and `tokens` of the token budget) before, tokens learnt
 * from the answer charged after, and a 429 pauses every process, not just this one.
 */
async function limited<T>(opts: LimitOptions, provider: string, model: string, tokens: number, call: () => Promise<T>, usedAfter: (result: T) => number): Promise<T> {
  const key = limitKey(provider, model, opts.apiKey);
  const limit = opts.limitFor(model);
  return opts.inFlight.run(async () => {
    await opts.limiter.acquire(key, limit, tokens, opts.maxWaitMs);
    const started = performance.now();
    const attributes = { 'longhaul.provider': provider, 'longhaul.model': model };
    try {
      const result = await call();
      telemetry().providerDuration.record(performance.now() - started, { ...attributes, 'longhaul.outcome': 'ok' });
      await opts.limiter.consume(key, limit, usedAfter(result));
      // Tighten from the provider's own accounting: a spent budget pauses every process until it resets.
      const hint = (result as { rateLimitHint?: { pauseMs: number } }).rateLimitHint;
      if (hint && hint.pauseMs > 0) await opts.limiter.pause(key, Date.now() + hint.pauseMs);
      return result;
    } catch (err) {
      telemetry().providerDuration.record(performance.now() - started, { ...attributes, 'longhaul.outcome': 'error' });
      if (err instanceof RetryAfterError && err.status === 429) {
        telemetry().providerRateLimited.add(1, attributes);
        await opts.limiter.pause(key, Date.now() + err.retryAfterMs);
      }
      throw err;
    }
  });
}

/** Every capability of a provider behind the shared limiter. */
export function limitServices(services: AiServices, opts: LimitOptions): AiServices {
  const { text, embeddings, transcription, images } = services;
  const limitedText = (gen: typeof text): typeof text => ({
    provider: gen.provider,
    defaultModel: gen.defaultModel,
    generate: (request, signal) =>
      limited(opts, gen.provider, request.model ?? gen.defaultModel, estimateTokens(request.prompt), () => gen.generate(request, signal), (r) => r.usage.outputTokens),
  });
  return {
    text: limitedText(text),
    analysis: limitedText(services.analysis),
    embeddings: {
      provider: embeddings.provider,
      defaultModel: embeddings.defaultModel,
      limits: embeddings.limits,
      embed: (request, signal) =>
        limited(opts, embeddings.provider, request.model ?? embeddings.defaultModel, request.texts.reduce((n, t) => n + estimateTokens(t), 0), () => embeddings.embed(request, signal), () => 0),
    },
    transcription: {
      provider: transcription.provider,
      defaultModel: transcription.defaultModel,
      maxUploadBytes: transcription.maxUploadBytes,
      transcribe: (request, signal) => limited(opts, transcription.provider, request.model ?? transcription.defaultModel, 0, () => transcription.transcribe(request, signal), () => 0),
    },
    images: {
      provider: images.provider,
      defaultModel: images.defaultModel,
      generate: (request, signal) => limited(opts, images.provider, request.model ?? images.defaultModel, 0, () => images.generate(request, signal), () => 0),
    },
  };
}
