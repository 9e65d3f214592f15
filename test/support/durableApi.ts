/** A small client for the Durable management API with the master key, used by tests and benchmarks. */
export interface InstanceStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: { EventType: string }[];
}

export class DurableApi {
  constructor(private readonly baseUrl: string, private readonly masterKey: string) {}

  url(path: string, query: Record<string, string> = {}): string {
    const u = new URL(`${this.baseUrl}/runtime/webhooks/durabletask/${path}`);
    u.searchParams.set('code', this.masterKey);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u.toString();
  }

  async start(name: string, input: unknown, instanceId?: string): Promise<string> {
    const res = await fetch(this.url(`orchestrators/${name}${instanceId ? `/${encodeURIComponent(instanceId)}` : ''}`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (res.status !== 202) throw new Error(`start ${name} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }

  async status(instanceId: string, query: Record<string, string> = {}): Promise<InstanceStatus | undefined> {
    const res = await fetch(this.url(`instances/${encodeURIComponent(instanceId)}`, query));
    if (res.status === 404) return undefined;
    return (await res.json()) as InstanceStatus;
  }

  /** Waits until the instance reaches a terminal status and returns it. */
  async waitForEnd(instanceId: string, timeoutMs = 60_000): Promise<InstanceStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(instanceId);
      if (status && ['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus)) return status;
      if (Date.now() > deadline) throw new Error(`instance ${instanceId} still ${status?.runtimeStatus} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async post(path: string, body?: unknown, query: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url(path, query), {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}
