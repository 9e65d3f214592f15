/**
 * A content-hash cache for deterministic AI requests — embeddings, and generations at temperature 0 — so an
 * identical request inside a job (or across jobs, AI_CACHE=global) is computed once. Entries live in Postgres
 * (longhaul.ai_cache): a chunk re-run after a crash finds what it already paid for.
 *
 * Usage of a hit: within a job (AI_CACHE=job) it is zero — the job already reported the call. Across jobs
 * (AI_CACHE=global) a hit reports the usage the original call recorded, stored with the entry: a zero would tell a
 * user that someone else had sent the same text, so to the user a shared hit looks exactly like a miss.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db';
import type { AiServices, EmbedResult, TextResult } from './types';

/** The scope withCache shares between every job (AI_CACHE=global); any other scope is one job's. */
export const GLOBAL_CACHE_SCOPE = 'global';

const hash = (...parts: (string | number | undefined)[]): string => createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\u0000')).digest('hex');

/** A cached embedding and its share of the input tokens the provider charged for the batch it came in. */
interface EmbedEntry {
  vector: number[];
  inputTokens: number;
}

/** `total` split over `weights` in proportion, as integers that add up to `total` exactly (largest remainder). */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0) return [];
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    shares[i]!++;
    left--;
  }
  return shares;
}

export function withCache(ai: AiServices, db: Queryable, scope: string): AiServices {
  const shared = scope === GLOBAL_CACHE_SCOPE;
  return {
    ...ai,
    text: {
      provider: ai.text.provider,
      defaultModel: ai.text.defaultModel,
      async generate(request, signal) {
        if (request.temperature !== 0) return ai.text.generate(request, signal);
        const key = hash(scope, 'text', ai.text.provider, request.model ?? ai.text.defaultModel, request.maxOutputTokens, JSON.stringify(request.responseSchema ?? null), request.prompt);
        const hit = await db.query<{ value: TextResult }>('select value from longhaul.ai_cache where key = $1', [key]);
        // The stored result holds the original call's usage: reported as is across jobs, as zero within one.
        if (hit.rows[0]) return shared ? hit.rows[0].value : { ...hit.rows[0].value, usage: { requests: 0, inputTokens: 0, outputTokens: 0 } };
        const result = await ai.text.generate(request, signal);
        await db.query('insert into longhaul.ai_cache (key, value) values ($1, $2) on conflict do nothing', [key, JSON.stringify(result)]);
        return result;
      },
    },
    embeddings: {
      provider: ai.embeddings.provider,
      defaultModel: ai.embeddings.defaultModel,
      limits: ai.embeddings.limits,
      async embed(request, signal): Promise<EmbedResult> {
        const model = request.model ?? ai.embeddings.defaultModel;
        // v2: entries carry their token share (entries of the bare-vector format are not read).
        const keyOf = (t: string): string => hash(scope, 'embed:v2', ai.embeddings.provider, model, t);
        const keys = request.texts.map(keyOf);
        const { rows } = await db.query<{ key: string; value: EmbedEntry }>('select key, value from longhaul.ai_cache where key = any($1)', [keys]);
        const known = new Map(rows.map((r) => [r.key, r.value]));
        const hits = keys.filter((k) => known.has(k));
        // Each missing text once, even when the request repeats it.
        const missing = [...new Set(request.texts.filter((_, i) => !known.has(keys[i]!)))];
        let usage = { requests: 0, inputTokens: 0 };
        let resultModel = model;
        if (missing.length > 0) {
          const fresh = await ai.embeddings.embed({ ...request, texts: missing }, signal);
          usage = { ...fresh.usage };
          resultModel = fresh.model;
          // The batch's tokens, shared out by length: the entries of one batch add up to what the provider charged.
          const tokens = apportion(fresh.usage.inputTokens, missing.map((t) => t.length));
          const entries = missing.map((t, i): [string, EmbedEntry] => [keyOf(t), { vector: fresh.vectors[i]!, inputTokens: tokens[i]! }]);
          for (const [k, entry] of entries) known.set(k, entry);
          await db.query('insert into longhaul.ai_cache (key, value) select * from unnest($1::text[], $2::jsonb[]) on conflict do nothing', [
            entries.map(([k]) => k),
            entries.map(([, entry]) => JSON.stringify(entry)),
          ]);
        }
        if (shared && hits.length > 0) {
          usage.inputTokens += hits.reduce((sum, k) => sum + (known.get(k)?.inputTokens ?? 0), 0);
          // All hits: the one call a miss would have made.
          usage.requests = Math.max(usage.requests, 1);
        }
        return { vectors: keys.map((k) => known.get(k)!.vector), provider: ai.embeddings.provider, model: resultModel, usage };
      },
    },
  };
}
