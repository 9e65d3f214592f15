/**
 * Wire-level fakes of the AI providers' HTTP APIs — OpenAI, Azure OpenAI, Anthropic, Gemini — on one local server,
 * so the official SDKs run their real code paths (auth headers, URLs, JSON, error statuses) in tests. Answers are
 * deterministic; every request is recorded; rules make chosen prompts fail, stall, come back malformed or blocked.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeProvider = 'openai' | 'azure-openai' | 'anthropic' | 'gemini';

export interface FakeRule {
  match: RegExp;
  /** Answer with this HTTP error status. */
  status?: number;
  /** With `status`: the Retry-After header, in seconds. */
  retryAfter?: number;
  /** Answer 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Answer 200 with the provider's content-policy stop. */
  blocked?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
  message?: string;
  /** Applies this many times, then stops matching (absent: forever). */
  times?: number;
}

export interface FakeRequest {
  provider: FakeProvider;
  path: string;
  headers: IncomingHttpHeaders;
  model: string;
  prompt: string;
  at: number;
}

export interface AiFake {
  url: string;
  /** Base URLs to configure each SDK with. */
  openaiBaseUrl: string;
  requests: FakeRequest[];
  /** Every prompt received, in arrival order. */
  prompts: string[];
  rules: FakeRule[];
  delayMs: number;
  calls(match: RegExp): number;
  close(): Promise<void>;
}

function route(method: string, path: string): { provider: FakeProvider; model?: string } | undefined {
  if (method !== 'POST') return undefined;
  if (/^\/v1\/chat\/completions$/.test(path)) return { provider: 'openai' };
  const azure = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path);
  if (azure) return { provider: 'azure-openai', model: decodeURIComponent(azure[1]!) };
  if (path === '/v1/messages') return { provider: 'anthropic' };
  const gemini = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(path);
  if (gemini) return { provider: 'gemini', model: decodeURIComponent(gemini[1]!) };
  return undefined;
}

function authorised(provider: FakeProvider, headers: IncomingHttpHeaders): boolean {
  switch (provider) {
    case 'openai':
      return /^Bearer \S+/.test(headers.authorization ?? '');
    case 'azure-openai':
      return !!headers['api-key'];
    case 'anthropic':
      return (!!headers['x-api-key'] || /^Bearer \S+/.test(headers.authorization ?? '')) && !!headers['anthropic-version'];
    case 'gemini':
      return !!headers['x-goog-api-key'];
  }
}

function promptOf(provider: FakeProvider, body: Record<string, unknown>): string {
  if (provider === 'gemini') {
    const contents = body.contents as { parts: { text?: string }[] }[];
    return contents.flatMap((c) => c.parts.map((p) => p.text ?? '')).join('\n');
  }
  const messages = body.messages as { content: string | { text?: string }[] }[];
  return messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => c.text ?? '').join(''))).join('\n');
}

function errorBody(provider: FakeProvider, status: number, message: string, retryAfter?: number): unknown {
  if (provider === 'anthropic') return { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } };
  if (provider === 'gemini') {
    // Gemini says how long to wait in the body (google.rpc.RetryInfo), not in a header.
    const details = retryAfter !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` }] : [];
    return { error: { code: status, message, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL', details } };
  }
  return { error: { message, type: 'invalid_request_error', code: null } };
}

function success(provider: FakeProvider, model: string, prompt: string, blocked: boolean): unknown {
  const text = blocked ? '' : `fake ${provider} answer to: ${prompt}`;
  const inTok = Math.ceil(prompt.length / 4);
  const outTok = Math.ceil(text.length / 4);
  switch (provider) {
    case 'openai':
    case 'azure-openai':
      return {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: blocked ? null : text }, finish_reason: blocked ? 'content_filter' : 'stop' }],
        usage: { prompt_tokens: inTok, completion_tokens: outTok, total_tokens: inTok + outTok },
      };
    case 'anthropic':
      return {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model,
        content: blocked ? [] : [{ type: 'text', text }],
        stop_reason: blocked ? 'refusal' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: inTok, output_tokens: outTok },
      };
    case 'gemini':
      return {
        candidates: [{ index: 0, content: { role: 'model', parts: blocked ? [] : [{ text }] }, finishReason: blocked ? 'SAFETY' : 'STOP' }],
        usageMetadata: { promptTokenCount: inTok, candidatesTokenCount: outTok, totalTokenCount: inTok + outTok },
        modelVersion: model,
      };
  }
}

export async function startAiFake(): Promise<AiFake> {
  const requests: FakeRequest[] = [];
  const prompts: string[] = [];
  const state = { rules: [] as FakeRule[], delayMs: 0 };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const target = route(req.method ?? '', url.pathname);
        if (!target) return send(res, 404, { error: { message: `no such route ${req.method} ${url.pathname}` } });
        if (!authorised(target.provider, req.headers)) return send(res, 401, errorBody(target.provider, 401, 'missing or wrong credentials'));
        const body = JSON.parse(raw) as Record<string, unknown>;
        const model = target.model ?? String(body.model ?? '');
        const prompt = promptOf(target.provider, body);
        prompts.push(prompt);
        requests.push({ provider: target.provider, path: `${url.pathname}${url.search}`, headers: req.headers, model, prompt, at: Date.now() });
        const rule = state.rules.find((r) => r.match.test(prompt) && (r.times === undefined || r.times > 0));
        if (rule?.times !== undefined) rule.times--;
        const delay = rule?.delayMs ?? state.delayMs;
        if (delay) await new Promise((r) => setTimeout(r, delay));
        if (res.destroyed) return;
        if (rule?.status) return send(res, rule.status, errorBody(target.provider, rule.status, rule.message ?? `fake error ${rule.status}`, rule.retryAfter), rule.retryAfter !== undefined ? { 'retry-after': String(rule.retryAfter) } : {});
        if (rule?.malformed) return send(res, 200, '{"this is": not json');
        send(res, 200, success(target.provider, model, prompt, !!rule?.blocked));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    prompts,
    calls: (match: RegExp) => requests.filter((r) => match.test(r.prompt)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
