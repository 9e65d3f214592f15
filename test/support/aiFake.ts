/**
 * Wire-level fakes of the AI providers' HTTP APIs — OpenAI, Azure OpenAI, Anthropic, Gemini — on one local server,
 * so the official SDKs run their real code paths (auth headers, URLs, JSON, error statuses) in tests. Answers are
 * deterministic; every request is recorded; rules make chosen prompts fail, stall, come back malformed or blocked.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleFromSchema } from '../../shared/ai/localProvider';

export type FakeProvider = 'openai' | 'azure-openai' | 'anthropic' | 'gemini';
export type FakeOperation = 'text' | 'embed' | 'transcribe' | 'image';

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
  /** Extra headers on a successful answer (e.g. x-ratelimit-remaining-requests: 0). */
  headers?: Record<string, string>;
  /** Answer prose even when JSON was asked for (a model ignoring JSON mode). */
  prose?: boolean;
  /** Transcription: answer with this text (one segment over the whole piece). */
  transcript?: string;
}

export interface FakeRequest {
  provider: FakeProvider;
  operation: FakeOperation;
  /** Embeddings: the texts of the request. Transcription: the uploaded file's size. */
  inputs?: string[];
  bytes?: number;
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
  /** The most requests that were being answered at the same moment. */
  maxInFlight: number;
  calls(match: RegExp): number;
  close(): Promise<void>;
}

const OPENAI_OPERATIONS: Record<string, FakeOperation> = { 'chat/completions': 'text', embeddings: 'embed', 'audio/transcriptions': 'transcribe', 'images/generations': 'image' };

function route(method: string, path: string): { provider: FakeProvider; operation: FakeOperation; model?: string } | undefined {
  if (method !== 'POST') return undefined;
  const openai = /^\/v1\/(chat\/completions|embeddings|audio\/transcriptions|images\/generations)$/.exec(path);
  if (openai) return { provider: 'openai', operation: OPENAI_OPERATIONS[openai[1]!]! };
  const azure = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings|audio\/transcriptions|images\/generations)$/.exec(path);
  if (azure) return { provider: 'azure-openai', operation: OPENAI_OPERATIONS[azure[2]!]!, model: decodeURIComponent(azure[1]!) };
  if (path === '/v1/messages') return { provider: 'anthropic', operation: 'text' };
  const gemini = /^\/v1beta\/models\/([^/:]+):(generateContent|batchEmbedContents)$/.exec(path);
  if (gemini) return { provider: 'gemini', operation: gemini[2] === 'batchEmbedContents' ? 'embed' : 'text', model: decodeURIComponent(gemini[1]!) };
  return undefined;
}

/** A deterministic little vector per text, so tests can check order and identity. */
export function fakeVector(text: string): number[] {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return [h % 997, (h >>> 10) % 991, text.length].map((v) => v / 1000);
}

/** The fields of a multipart/form-data body (files as their byte length). */
function multipart(raw: Buffer, contentType: string): { fields: Record<string, string>; fileBytes: number } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const fields: Record<string, string> = {};
  let fileBytes = 0;
  const text = raw.toString('latin1');
  for (const part of text.split(`--${boundary?.[1] ?? boundary?.[2]}`)) {
    const [head, ...rest] = part.split('\r\n\r\n');
    const name = /name="([^"]+)"/.exec(head ?? '')?.[1];
    if (!name) continue;
    const value = rest.join('\r\n\r\n').replace(/\r\n$/, '');
    if (/filename="/.test(head ?? '')) fileBytes = Buffer.byteLength(value, 'latin1');
    else fields[name] = value;
  }
  return { fields, fileBytes };
}

// 1×1 PNG, the smallest valid image an image API could return.
export const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

function operationSuccess(provider: FakeProvider, operation: FakeOperation, model: string, inputs: string[], fields: Record<string, string>): unknown {
  if (operation === 'embed') {
    if (provider === 'gemini') return { embeddings: inputs.map((t) => ({ values: fakeVector(t) })) };
    return { object: 'list', model, data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t) })), usage: { prompt_tokens: inputs.join(' ').length, total_tokens: inputs.join(' ').length } };
  }
  if (operation === 'transcribe') {
    const text = `fake transcript of ${fields.model}`;
    if (fields.response_format === 'verbose_json') {
      return { task: 'transcribe', language: fields.language ?? 'english', duration: 12.5, text, segments: [{ id: 0, start: 0, end: 6, text: ' fake transcript' }, { id: 1, start: 6, end: 12.5, text: ` of ${fields.model}` }] };
    }
    return { text };
  }
  return { created: Math.floor(Date.now() / 1000), data: [{ b64_json: TINY_PNG }] };
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

/** In JSON mode the fake answers a sample of the JSON Schema quoted in the prompt (as longhaul's step prompts do). */
function jsonAnswer(prompt: string): string {
  const quoted = /JSON Schema:\n(\{[^\n]*\})/.exec(prompt)?.[1];
  return JSON.stringify(quoted ? sampleFromSchema(JSON.parse(quoted) as Record<string, unknown>, 'fake json') : {});
}

function success(provider: FakeProvider, model: string, prompt: string, blocked: boolean, json = false): unknown {
  const text = blocked ? '' : json ? jsonAnswer(prompt) : `fake ${provider} answer to: ${prompt}`;
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
  const state = { rules: [] as FakeRule[], delayMs: 0, maxInFlight: 0 };
  let inFlight = 0;
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const rawBuffer = Buffer.concat(parts);
      const raw = rawBuffer.toString();
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const target = route(req.method ?? '', url.pathname);
        if (!target) return send(res, 404, { error: { message: `no such route ${req.method} ${url.pathname}` } });
        if (!authorised(target.provider, req.headers)) return send(res, 401, errorBody(target.provider, 401, 'missing or wrong credentials'));
        const form = target.operation === 'transcribe' ? multipart(rawBuffer, req.headers['content-type'] ?? '') : undefined;
        const body = (form ? form.fields : JSON.parse(raw)) as Record<string, unknown>;
        const model = target.model ?? String(body.model ?? '');
        const inputs =
          target.operation === 'embed'
            ? target.provider === 'gemini'
              ? (body.requests as { content: { parts: { text: string }[] } }[]).map((r) => r.content.parts.map((p) => p.text).join(''))
              : (body.input as string[])
            : undefined;
        const prompt =
          target.operation === 'text' || (target.operation === 'image' && target.provider === 'gemini')
            ? promptOf(target.provider, body)
            : target.operation === 'image'
              ? String(body.prompt)
              : target.operation === 'embed'
                ? inputs!.join('\n')
                : `audio ${form!.fileBytes} bytes`;
        prompts.push(prompt);
        requests.push({ provider: target.provider, operation: target.operation, inputs, bytes: form?.fileBytes, path: `${url.pathname}${url.search}`, headers: req.headers, model, prompt, at: Date.now() });
        const rule = state.rules.find((r) => r.match.test(prompt) && (r.times === undefined || r.times > 0));
        if (rule?.times !== undefined) rule.times--;
        const delay = rule?.delayMs ?? state.delayMs;
        inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, inFlight);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        inFlight--;
        if (res.destroyed) return;
        if (rule?.status) return send(res, rule.status, errorBody(target.provider, rule.status, rule.message ?? `fake error ${rule.status}`, rule.retryAfter), rule.retryAfter !== undefined ? { 'retry-after': String(rule.retryAfter) } : {});
        if (rule?.malformed) return send(res, 200, '{"this is": not json');
        const geminiImage = target.provider === 'gemini' && target.operation === 'text' && JSON.stringify(body.generationConfig ?? {}).includes('IMAGE');
        if (geminiImage && rule?.blocked) return send(res, 200, { candidates: [{ index: 0, content: { role: 'model', parts: [] }, finishReason: 'IMAGE_SAFETY' }], modelVersion: model });
        if (geminiImage) {
          return send(res, 200, { candidates: [{ index: 0, content: { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: TINY_PNG } }] }, finishReason: 'STOP' }], modelVersion: model });
        }
        if (target.operation === 'transcribe' && rule?.transcript) {
          return send(res, 200, { task: 'transcribe', language: 'english', duration: 10, text: rule.transcript, segments: [{ id: 0, start: 0, end: 10, text: rule.transcript }] });
        }
        if (target.operation !== 'text') return send(res, 200, operationSuccess(target.provider, target.operation, model, inputs ?? [], body as Record<string, string>));
        const jsonMode = (body.response_format as { type?: string } | undefined)?.type === 'json_object' || JSON.stringify(body.generationConfig ?? {}).includes('application/json');
        send(res, 200, success(target.provider, model, prompt, !!rule?.blocked, jsonMode && !rule?.prose), rule?.headers ?? {});
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
