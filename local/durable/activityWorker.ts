/**
 * Runs activity work items: claims as many as there are free slots (maxConcurrentActivityFunctions), runs them
 * through the function invoker, and reports completions in batches. A completion is applied only if the claim token
 * still matches (delete … where claim = $token), so an activity re-run after a crash can never complete twice.
 */
import type { Pool } from 'pg';
import { EventType, event, type InboxEvent, type RetryState } from './history';
import { WakeSignal, sleep } from './signal';
import type { HostLogger } from '../host/logger';

export interface ActivityWorkItem {
  id: string;
  instanceId: string;
  taskId: number;
  name: string;
  /** JSON text of the input, or null when there was none. */
  input: string | null;
  claim: string;
  dequeueCount: number;
  retry: RetryState | null;
}

/** Runs one activity; resolves with its result value or rejects with its error. */
export type ActivityInvoker = (item: ActivityWorkItem) => Promise<unknown>;

interface Completion {
  id: string;
  claim: string;
  event: InboxEvent;
}

export class ActivityWorker {
  readonly signal = new WakeSignal();
  #running = false;
  #inFlight = 0;
  #loop: Promise<void> | undefined;
  #pending: Completion[] = [];
  #flushing: Promise<void> | undefined;
  #idle = new WakeSignal();
  /** Activities this host has run (for tests and benchmarks). */
  executed = 0;

  constructor(
    private readonly pool: Pool,
    private readonly hostId: () => number,
    private readonly run: ActivityInvoker,
    private readonly log: HostLogger,
    private readonly slots: number,
    /** Wakes this host's orchestration lanes once completions are recorded (other hosts hear the NOTIFY). */
    private readonly onCompleted: () => void = () => undefined,
  ) {}

  start(): void {
    this.#running = true;
    this.#loop = this.#claimLoop();
  }

  /** Stops claiming, waits for in-flight activities (up to `graceMs`) and flushes their completions. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#running = false;
    this.signal.notifyAll();
    await this.#loop;
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await this.#idle.wait(100);
    await this.#flush();
    if (this.#inFlight > 0) await this.#release();
  }

  async #claimLoop(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      const free = this.slots - this.#inFlight;
      if (free <= 0) {
        await this.signal.wait(1000);
        continue;
      }
      try {
        const items = await this.#claim(free);
        failures = 0;
        for (const item of items) void this.#execute(item);
        // Fewer items than free slots means the queue is drained: sleep until new work is announced.
        if (items.length < free) await this.signal.wait(1000);
      } catch (err) {
        failures++;
        this.log.error(`activity claim failed: ${(err as Error).message}`);
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #claim(limit: number): Promise<ActivityWorkItem[]> {
    const result = await this.pool.query<{
      id: string; instance_id: string; task_id: number; name: string; input: string | null; claim: string; dequeue_count: number; retry: string | null;
    }>({
      name: 'durabletask-claim-activities',
      text: `update durabletask.activities a set owner = $1, claim = gen_random_uuid(), claimed_at = clock_timestamp(),
         dequeue_count = a.dequeue_count + 1
       where a.id in (select id from durabletask.activities where owner is null and visible_at <= clock_timestamp()
                      order by id limit $2 for update skip locked)
       returning a.id, a.instance_id, a.task_id, a.name, a.input, a.claim, a.dequeue_count, a.retry`,
      values: [this.hostId(), limit],
    });
    return result.rows
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((r) => ({
        id: r.id, instanceId: r.instance_id, taskId: r.task_id, name: r.name, input: r.input, claim: r.claim,
        dequeueCount: r.dequeue_count, retry: r.retry ? (JSON.parse(r.retry) as RetryState) : null,
      }));
  }

  async #execute(item: ActivityWorkItem): Promise<void> {
    this.#inFlight++;
    const ts = (): string => new Date().toISOString();
    let message: InboxEvent;
    try {
      const value = await this.run(item);
      message = event(EventType.TaskCompleted, ts(), { TaskScheduledId: item.taskId, Result: JSON.stringify(value ?? null) });
    } catch (err) {
      message = { ...event(EventType.TaskFailed, ts(), { TaskScheduledId: item.taskId, ...activityFailure(item.name, err) }), ...(item.retry ? { _retry: item.retry } : {}) };
    }
    this.executed++;
    this.#inFlight--;
    this.#pending.push({ id: item.id, claim: item.claim, event: message });
    void this.#scheduleFlush();
    // A slot opened: if the claim loop was held back by full slots, let it claim again.
    if (this.#inFlight === this.slots - 1) this.signal.notifyOne();
    if (this.#inFlight === 0) this.#idle.notifyAll();
  }

  /** Coalesces completions: while one flush runs, new completions queue up and go out together in the next. */
  async #scheduleFlush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.length === 0) return;
    this.#flushing = this.#flush().finally(() => (this.#flushing = undefined));
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.pool.query({
          name: 'durabletask-complete-activities',
          text: `with done as (select * from unnest($1::bigint[], $2::uuid[], $3::text[]) as d(id, claim, ev)),
                removed as (delete from durabletask.activities a using done d where a.id = d.id and a.claim = d.claim
                            returning a.id, a.instance_id, a.execution_id)
           insert into durabletask.inbox (instance_id, execution_id, event_type, event)
           select r.instance_id, r.execution_id, (d.ev::json->>'EventType')::int, d.ev from removed r join done d on d.id = r.id`,
          values: [batch.map((c) => c.id), batch.map((c) => c.claim), batch.map((c) => JSON.stringify(c.event))],
        });
        this.onCompleted();
        return;
      } catch (err) {
        // The database may be restarting: keep the results and try again rather than re-running the work.
        this.log.warn(`could not record ${batch.length} activity completion(s): ${(err as Error).message}`);
        if (!this.#running && attempt >= 5) return;
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** On shutdown, gives back items still running so another host can take them now. */
  async #release(): Promise<void> {
    await this.pool
      .query('update durabletask.activities set owner = null, claim = null where owner = $1', [this.hostId()])
      .catch(() => undefined);
  }

  get inFlight(): number {
    return this.#inFlight;
  }
}

/** TaskFailed fields for an activity error, as the extension reports JS failures (TaskActivityShim). */
function activityFailure(name: string, err: unknown): Record<string, unknown> {
  const error = err instanceof Error ? err : new Error(String(err));
  let message = error.message;
  let failureDetails: Record<string, unknown> | undefined;
  // With df.app.setExceptionPropertiesProvider the SDK replaces the message by a JSON description of the error.
  if (message.startsWith('{"errorType"')) {
    try {
      const parsed = JSON.parse(message) as { errorType: string; errorMessage: string; isNonRetriable?: boolean; properties?: unknown; stackTrace?: string };
      message = parsed.errorMessage;
      failureDetails = { ErrorType: parsed.errorType, ErrorMessage: parsed.errorMessage, StackTrace: parsed.stackTrace, IsNonRetriable: parsed.isNonRetriable ?? false, Properties: parsed.properties };
    } catch {
      // Not the SDK's format after all: report the raw message.
    }
  }
  return {
    Reason: `Activity function '${name}' failed: ${message}`,
    Details: JSON.stringify({ Message: message, StackTrace: error.stack ?? '' }),
    ...(failureDetails ? { FailureDetails: failureDetails } : {}),
  };
}
