/**
 * The offline `local` provider: deterministic, instant, no network — what AI_PROVIDER=auto uses when no key is set,
 * so the whole system runs and is testable offline. Every output says it came from the offline model.
 */
import { createHash } from 'node:crypto';
import type { TextGenerator, TextRequest, TextResult } from './types';

export const LOCAL_MODEL = 'longhaul-local-1';

/** Rough token estimate (about four characters per token, as providers bill English text). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function createLocalText(): TextGenerator {
  return {
    provider: 'local',
    defaultModel: LOCAL_MODEL,
    async generate(request: TextRequest): Promise<TextResult> {
      const digest = createHash('sha256').update(`${request.model ?? ''}|${request.temperature ?? ''}|${request.prompt}`).digest('hex').slice(0, 12);
      // Echo the start of the prompt so downstream nodes see their inputs flow through, plus a stable fingerprint.
      const words = request.prompt.replace(/\s+/g, ' ').trim().split(' ').slice(0, 24).join(' ');
      const text = `[offline local model ${digest}] ${words}`;
      return { text, provider: 'local', model: LOCAL_MODEL, usage: { requests: 1, inputTokens: estimateTokens(request.prompt), outputTokens: estimateTokens(text) } };
    },
  };
}
