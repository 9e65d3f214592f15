/**
 * The Durable Functions HTTP management API (extension HttpApiHandler.cs), served under both
 * `/runtime/webhooks/durabletask/` (keyed) and the loopback `rpcBaseUrl` the SDK's DurableClient calls.
 * Status codes and payloads follow durable-protocol.md §2.3.
 */
import type { Pool } from 'pg';
import { EventType, event, isTerminal } from './history';
import { newExecutionId } from './episode';
import { managementUrls } from './clientBinding';
import { createInstance, getInstance, listInstances, purgeInstances, readHistory, sendMessage, type InstanceRow } from './store';

export interface ApiRequest {
  method: string;
  /** Path segments after the durabletask base path. */
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** Absolute URL of the request, for Location headers. */
  url: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ManagementApiOptions {
  pool: Pool;
  /** Public origin and key for the URLs in check-status payloads. */
  origin: string;
  taskHub: string;
  systemKey: string;
  isOrchestrator(name: string): boolean;
  /** Wakes this host's orchestration workers after the API queued a message. */
  onMessageSent(): void;
}

const json = (status: number, body?: unknown, headers?: Record<string, string>): ApiResponse => ({ status, body, headers });
const formatTime = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export class ManagementApi {
  constructor(private readonly opts: ManagementApiOptions) {}

  async handle(req: ApiRequest): Promise<ApiResponse> {
    const [area, first, second, third, ...rest] = req.segments.map((s) => decodeURIComponent(s));
    const method = req.method.toUpperCase();
    try {
      if (area === 'orchestrators' && method === 'POST' && first && !third) return await this.#start(req, first, second);
      if (area === 'instances') {
        if (!first) {
          if (method === 'GET') return await this.#list(req);
          if (method === 'DELETE') return await this.#purgeBy(req);
        } else if (!second) {
          if (method === 'GET') return await this.#status(req, first);
          if (method === 'DELETE') return await this.#purge(first);
        } else if (method === 'POST' && second.toLowerCase() === 'raiseevent' && third && rest.length === 0) {
          return await this.#raise(req, first, third);
        } else if (method === 'POST' && !third) {
          return await this.#control(req, first, second.toLowerCase());
        }
      }
      if (area === 'entities') return json(501, { Message: 'Durable entities are not supported by the local host' });
      return json(404);
    } catch (err) {
      if (err instanceof BadRequest) return json(400, { Message: err.message });
      throw err;
    }
  }

  #urls(instanceId: string): Record<string, string> {
    return managementUrls({ origin: this.opts.origin, taskHub: this.opts.taskHub, systemKey: this.opts.systemKey }, instanceId);
  }

  async #start(req: ApiRequest, name: string, requestedId: string | undefined): Promise<ApiResponse> {
    if (!this.opts.isOrchestrator(name)) throw new BadRequest(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`);
    let input: string | null = null;
    if (req.body.length > 0) {
      const text = req.body.toString('utf8');
      try {
        JSON.parse(text);
      } catch {
        throw new BadRequest('Invalid JSON content');
      }
      input = text;
    }
    const instanceId = requestedId ?? newExecutionId();
    const client = await this.opts.pool.connect();
    try {
      await client.query('begin');
      const created = await createInstance(client, { instanceId, name, version: req.query.get('version') ?? '', input });
      await client.query(created === 'created' ? 'commit' : 'rollback');
      if (created === 'created') this.opts.onMessageSent();
      if (created === 'conflict') return json(409, { Message: `An orchestration instance with ID '${instanceId}' already exists and is not in a terminal state.` });
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    const timeout = req.query.get('timeout');
    if (timeout) {
      const finished = await this.#waitFor(instanceId, Number(timeout) * 1000, Number(req.query.get('pollingInterval') ?? '1') * 1000);
      if (finished && finished.status === 'Completed') return json(200, parseJson(finished.output));
      if (finished && isTerminal(finished.status)) return json(200, this.#payload(finished, true));
    }
    const urls = this.#urls(instanceId);
    return json(202, urls, { Location: urls.statusQueryGetUri ?? '', 'Retry-After': '10' });
  }

  async #waitFor(instanceId: string, timeoutMs: number, intervalMs: number): Promise<InstanceRow | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await getInstance(this.opts.pool, instanceId);
      if (!row || isTerminal(row.status) || Date.now() >= deadline) return row;
      await new Promise((r) => setTimeout(r, Math.max(50, intervalMs)));
    }
  }

  #payload(row: InstanceRow, showInput: boolean, history?: unknown[]): Record<string, unknown> {
    return {
      name: row.name,
      instanceId: row.instance_id,
      runtimeStatus: row.status,
      input: showInput ? parseJson(row.input) : null,
      customStatus: parseJson(row.custom_status),
      output: parseJson(row.output),
      createdTime: formatTime(row.created_at),
      lastUpdatedTime: formatTime(row.updated_at),
      ...(history ? { historyEvents: history } : {}),
    };
  }

  async #status(req: ApiRequest, instanceId: string): Promise<ApiResponse> {
    const row = await getInstance(this.opts.pool, instanceId);
    if (!row) return json(404);
    const flag = (name: string, dflt: boolean): boolean => {
      const value = req.query.get(name);
      return value === null ? dflt : value.toLowerCase() === 'true';
    };
    let history: unknown[] | undefined;
    if (flag('showHistory', false)) {
      const showOutput = flag('showHistoryOutput', false);
      history = (await readHistory(this.opts.pool, instanceId)).map((text) => presentEvent(JSON.parse(text) as Record<string, unknown>, showOutput)).filter((e) => e !== undefined);
    }
    const body = this.#payload(row, flag('showInput', true), history);
    if (row.status === 'Pending' || row.status === 'Running' || row.status === 'Suspended' || row.status === 'ContinuedAsNew') {
      return json(202, body, { Location: req.url, 'Retry-After': '5' });
    }
    if (row.status === 'Failed' && flag('returnInternalServerErrorOnFailure', false)) return json(500, body);
    return json(200, body);
  }

  async #list(req: ApiRequest): Promise<ApiResponse> {
    const date = (name: string): Date | undefined => {
      const value = req.query.get(name);
      if (!value) return undefined;
      const at = new Date(value);
      if (Number.isNaN(at.getTime())) throw new BadRequest(`${name} is not a date`);
      return at;
    };
    const top = Math.min(1000, Math.max(1, Number(req.query.get('top') ?? '100') || 100));
    const statuses = req.query.get('runtimeStatus')?.split(',').map((s) => s.trim()).filter(Boolean);
    const page = await listInstances(
      this.opts.pool,
      {
        instanceIdPrefix: req.query.get('instanceIdPrefix') ?? undefined,
        createdTimeFrom: date('createdTimeFrom'),
        createdTimeTo: date('createdTimeTo'),
        runtimeStatus: statuses,
      },
      top,
      req.headers['x-ms-continuation-token'] || undefined,
    );
    const showInput = (req.query.get('showInput') ?? 'true').toLowerCase() === 'true';
    return json(200, page.rows.map((row) => this.#payload(row, showInput)), page.next ? { 'x-ms-continuation-token': page.next } : {});
  }

  async #purge(instanceId: string): Promise<ApiResponse> {
    const deleted = await purgeInstances(this.opts.pool, { instanceId });
    return deleted === 0 ? json(404) : json(200, { instancesDeleted: deleted });
  }

  async #purgeBy(req: ApiRequest): Promise<ApiResponse> {
    const from = req.query.get('createdTimeFrom');
    if (!from) throw new BadRequest('createdTimeFrom is required');
    const to = req.query.get('createdTimeTo');
    const statuses = req.query.get('runtimeStatus')?.split(',').map((s) => s.trim()).filter(Boolean);
    const deleted = await purgeInstances(this.opts.pool, {
      createdTimeFrom: new Date(from),
      createdTimeTo: to ? new Date(to) : new Date(),
      runtimeStatus: statuses,
    });
    return deleted === 0 ? json(404) : json(200, { instancesDeleted: deleted });
  }

  async #raise(req: ApiRequest, instanceId: string, eventName: string): Promise<ApiResponse> {
    const row = await getInstance(this.opts.pool, instanceId);
    if (!row) return json(404, { Message: `No instance with ID '${instanceId}' found.` });
    if (isTerminal(row.status)) return json(410);
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (req.body.length > 0 && mediaType !== 'application/json') throw new BadRequest("Only 'application/json' media type is supported");
    const text = req.body.length > 0 ? req.body.toString('utf8') : null;
    if (text !== null) {
      try {
        JSON.parse(text);
      } catch {
        throw new BadRequest('Invalid JSON content');
      }
    }
    await sendMessage(this.opts.pool, instanceId, null, event(EventType.EventRaised, new Date().toISOString(), { Name: eventName, Input: text }));
    this.opts.onMessageSent();
    return json(202);
  }

  async #control(req: ApiRequest, instanceId: string, operation: string): Promise<ApiResponse> {
    const types: Record<string, EventType> = {
      terminate: EventType.ExecutionTerminated,
      suspend: EventType.ExecutionSuspended,
      resume: EventType.ExecutionResumed,
    };
    if (operation === 'rewind' || operation === 'restart') {
      return json(501, { Message: `${operation} is not supported by the local host's storage provider` });
    }
    const type = types[operation];
    if (type === undefined) return json(404);
    const row = await getInstance(this.opts.pool, instanceId);
    if (!row) return json(404, { Message: `No instance with ID '${instanceId}' found.` });
    if (isTerminal(row.status)) return json(410);
    const reason = req.query.get('reason') ?? '';
    const fields = type === EventType.ExecutionTerminated ? { Input: reason } : { Reason: reason };
    await sendMessage(this.opts.pool, instanceId, null, event(type, new Date().toISOString(), fields));
    this.opts.onMessageSent();
    return json(202);
  }
}

class BadRequest extends Error {}

const EVENT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(EventType).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

/** History rows in the shape the extension returns with showHistory (scheduling rows merged away). */
function presentEvent(e: Record<string, unknown>, showOutput: boolean): Record<string, unknown> | undefined {
  const type = e.EventType as number;
  if ([EventType.OrchestratorStarted, EventType.OrchestratorCompleted, EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated].includes(type)) return undefined;
  const { EventId: _id, IsPlayed: _played, EventType: _type, Result, ...rest } = e;
  return { EventType: EVENT_NAMES[type] ?? String(type), ...rest, ...(showOutput && Result !== undefined ? { Result } : {}) };
}
