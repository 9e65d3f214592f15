/**
 * A wire-level fake of the OpenAI chat completions API, so the official `openai` SDK path (auth header, JSON,
 * error statuses) runs in tests. It answers deterministically, records every prompt, and can be told to fail or
 * slow down for prompts matching a pattern.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRule {
  match: RegExp;
  status: number;
  message?: string;
  /** Applies this many times, then stops matching (absent: forever). */
  times?: number;
}

export interface OpenAiFake {
  baseUrl: string;
  /** Every prompt received, in arrival order. */
  prompts: string[];
  rules: FakeRule[];
  delayMs: number;
  calls(match: RegExp): number;
  close(): Promise<void>;
}

export async function startOpenAiFake(): Promise<OpenAiFake> {
  const prompts: string[] = [];
  const fake = { rules: [] as FakeRule[], delayMs: 0 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
          return;
        }
        if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'missing key', type: 'invalid_request_error' } }));
          return;
        }
        const request = JSON.parse(body) as { model: string; messages: { content: string }[] };
        const prompt = request.messages.map((m) => m.content).join('\n');
        prompts.push(prompt);
        if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
        const rule = fake.rules.find((r) => r.match.test(prompt) && (r.times === undefined || r.times > 0));
        if (rule) {
          if (rule.times !== undefined) rule.times--;
          res.writeHead(rule.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: rule.message ?? `fake error ${rule.status}`, type: 'invalid_request_error' } }));
          return;
        }
        const content = `fake answer to: ${prompt}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${prompts.length}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: request.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: prompt.length, completion_tokens: content.length, total_tokens: prompt.length + content.length },
          }),
        );
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    prompts,
    calls: (match: RegExp) => prompts.filter((p) => match.test(p)).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
