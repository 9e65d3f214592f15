/**
 * Shared rate limiting (requests and tokens per minute per provider, model and key) through Postgres, so every
 * process and instance draws from one budget, plus a per-instance cap on calls in flight (WORKER_CONCURRENCY).
 * Short waits are slept in place; a wait longer than the caller's patience becomes a RetryAfterError, which the
 * engine turns into a durable timer instead of a sleeping activity.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db';
import { RetryAfterError } from '../errors';
import { estimateTokens } from './localProvider';
import type { TextGenerator, TextRequest, TextResult } from './types';

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

export interface LimitedTextOptions {
  limiter: SharedLimiter;
  limitFor(model: string): RateLimit;
  apiKey: string;
  maxWaitMs: number;
  inFlight: Semaphore;
}

/** Wraps a text generator: a shared slot before each call, output tokens charged after, 429s pause everyone. */
export function limitText(inner: TextGenerator, opts: LimitedTextOptions): TextGenerator {
  return {
    provider: inner.provider,
    defaultModel: inner.defaultModel,
    async generate(request: TextRequest, signal?: AbortSignal): Promise<TextResult> {
      const model = request.model ?? inner.defaultModel;
      const key = limitKey(inner.provider, model, opts.apiKey);
      const limit = opts.limitFor(model);
      return opts.inFlight.run(async () => {
        await opts.limiter.acquire(key, limit, estimateTokens(request.prompt), opts.maxWaitMs);
        try {
          const result = await inner.generate(request, signal);
          await opts.limiter.consume(key, limit, result.usage.outputTokens);
          return result;
        } catch (err) {
          // The provider says slow down: every process waits, not just this one.
          if (err instanceof RetryAfterError && err.status === 429) await opts.limiter.pause(key, Date.now() + err.retryAfterMs);
          throw err;
        }
      });
    },
  };
}
