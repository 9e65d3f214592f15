/**
 * A content-hash cache for deterministic AI requests — embeddings, and generations at temperature 0 — so an
 * identical request inside a job (or across jobs, AI_CACHE=global) is computed once. Entries live in Postgres
 * (longhaul.ai_cache): a chunk re-run after a crash finds what it already paid for. A cached answer reports
 * zero requests and tokens, so usage shows what the providers really did.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db';
import type { AiServices, EmbedResult, TextResult } from './types';

const hash = (...parts: (string | number | undefined)[]): string => createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\u0000')).digest('hex');

export function withCache(ai: AiServices, db: Queryable, scope: string): AiServices {
  return {
    ...ai,
    text: {
      provider: ai.text.provider,
      defaultModel: ai.text.defaultModel,
      async generate(request, signal) {
        if (request.temperature !== 0) return ai.text.generate(request, signal);
        const key = hash(scope, 'text', ai.text.provider, request.model ?? ai.text.defaultModel, request.maxOutputTokens, JSON.stringify(request.responseSchema ?? null), request.prompt);
        const hit = await db.query<{ value: TextResult }>('select value from longhaul.ai_cache where key = $1', [key]);
        if (hit.rows[0]) return { ...hit.rows[0].value, usage: { requests: 0, inputTokens: 0, outputTokens: 0 } };
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
        const keys = request.texts.map((t) => hash(scope, 'embed', ai.embeddings.provider, model, t));
        const { rows } = await db.query<{ key: string; value: number[] }>('select key, value from longhaul.ai_cache where key = any($1)', [keys]);
        const known = new Map(rows.map((r) => [r.key, r.value]));
        // Each missing text once, even when the request repeats it.
        const missing = [...new Set(request.texts.filter((_, i) => !known.has(keys[i]!)))];
        let usage = { requests: 0, inputTokens: 0 };
        let resultModel = model;
        if (missing.length > 0) {
          const fresh = await ai.embeddings.embed({ ...request, texts: missing }, signal);
          usage = fresh.usage;
          resultModel = fresh.model;
          const freshKeys = missing.map((t) => hash(scope, 'embed', ai.embeddings.provider, model, t));
          freshKeys.forEach((k, i) => known.set(k, fresh.vectors[i]!));
          await db.query('insert into longhaul.ai_cache (key, value) select * from unnest($1::text[], $2::jsonb[]) on conflict do nothing', [freshKeys, fresh.vectors.map((v) => JSON.stringify(v))]);
        }
        return { vectors: keys.map((k) => known.get(k)!), provider: ai.embeddings.provider, model: resultModel, usage };
      },
    },
  };
}
