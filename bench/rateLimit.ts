/**
 * Rate-limit accuracy (issue: AI providers): three processes share one provider limit. A fake OpenAI-compatible
 * provider enforces the limit over a rolling minute and answers 429 above it. Measured: the rate achieved as a share
 * of the limit, and the 429s — through longhaul's shared Postgres limiter, then through a per-process limiter
 * (Bottleneck) configured with the same limit in each process, in the same run.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyMigrations } from '../local/supabase/migrate';
import type { Figure } from './localHost';

const run = promisify(execFile);

interface Enforcer {
  baseUrl: string;
  accepted: number[];
  rejected: number;
  close(): Promise<void>;
}

/** A provider that allows `rpm` requests in any rolling 60 s and answers 429 (with Retry-After) beyond. */
async function enforcingProvider(rpm: number): Promise<Enforcer> {
  const accepted: number[] = [];
  const state = { rejected: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now();
      while (accepted.length && accepted[0]! <= now - 60_000) accepted.shift();
      if (accepted.length >= rpm) {
        state.rejected++;
        const retry = Math.max(1, Math.ceil((accepted[0]! + 60_000 - now) / 1000));
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retry) }).end(JSON.stringify({ error: { message: 'rate limited', type: 'rate_limit' } }));
        return;
      }
      accepted.push(now);
      allAccepted.push(now);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'bench-model', choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
        );
      }, 30);
    });
  });
  const allAccepted: number[] = [];
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    accepted: allAccepted,
    get rejected() {
      return state.rejected;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function round(mode: 'shared' | 'bottleneck', databaseUrl: string, providerRpm: number, limiterRpm: number, durationMs: number): Promise<{ achieved: number; rejected: number; offered: number }> {
  const provider = await enforcingProvider(providerRpm);
  try {
    const worker = join(__dirname, 'rateWorker.js');
    await Promise.all([0, 1, 2].map(() => run(process.execPath, [worker, mode, databaseUrl, provider.baseUrl, String(limiterRpm), String(durationMs)], { maxBuffer: 1 << 20 })));
    // The rate while the processes ran together: from the first accepted call to the last (process start-up excluded).
    const times = provider.accepted;
    const minutes = (times[times.length - 1]! - times[0]!) / 60_000;
    return { achieved: (times.length - 1) / minutes / providerRpm, rejected: provider.rejected, offered: (times.length + provider.rejected) / (durationMs / 60_000) / providerRpm };
  } finally {
    await provider.close();
  }
}

export async function benchRateLimit(databaseUrl: string, durationMs: number): Promise<Figure[]> {
  await applyMigrations(databaseUrl);
  // The provider allows 600 requests/minute; the shared limiter is configured 2 % under it, so the jitter of real
  // networks (a request arriving a few ms late) cannot push a rolling minute over the provider's count.
  const providerRpm = 600;
  const shared = await round('shared', databaseUrl, providerRpm, Math.floor(providerRpm * 0.98), durationMs);
  const perProcess = await round('bottleneck', databaseUrl, providerRpm, providerRpm, durationMs);
  const secs = Math.round(durationMs / 1000);
  return [
    { name: `shared limiter, 3 processes, provider limit 600/min, ${secs} s: achieved share of the limit`, value: shared.achieved * 100, unit: '%', runs: [shared.achieved * 100] },
    { name: `shared limiter: 429 answers`, value: shared.rejected, unit: '429s', runs: [shared.rejected] },
    { name: `per-process limiter (Bottleneck, 600/min in each of 3 processes), ${secs} s: requests sent, as a share of the limit`, value: perProcess.offered * 100, unit: '%', runs: [perProcess.offered * 100] },
    { name: `per-process limiter: 429 answers`, value: perProcess.rejected, unit: '429s', runs: [perProcess.rejected] },
  ];
}
