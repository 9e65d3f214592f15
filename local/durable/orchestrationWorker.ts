/**
 * Runs orchestration episodes. Each lane claims one instance with `FOR UPDATE SKIP LOCKED` and keeps the row lock for
 * the whole episode (read inbox → replay through the SDK → write history and scheduled work → commit), so several
 * hosts share the work, no instance runs twice at once, and a crashed host's lock vanishes with its connection.
 */
import type { Pool, PoolClient } from 'pg';
import {
  applyActions,
  applyOutcome,
  applyRetryMessages,
  newExecutionId,
  newPlan,
  parseOrchestratorFailure,
  selectBatch,
  type EpisodePlan,
  type EpisodeState,
  type InboxRow,
  type OrchestratorResult,
} from './episode';
import { EventType, event, isTerminal, type HistoryEvent, type InboxEvent } from './history';
import { createInstance, enqueueStart, sendMessage, type InstanceRow, type ParentLink } from './store';
import { WakeSignal, sleep } from './signal';
import type { HostLogger } from '../host/logger';

/** Invokes the orchestrator function `name` with the orchestration trigger payload (JSON text). */
export type OrchestratorInvoker = (name: string, contextJson: string, instanceId: string) => Promise<OrchestratorResult>;

interface CachedHistory {
  executionId: string;
  episode: number;
  events: string[];
}

/**
 * Claims one ready instance; its row lock is held for the whole episode and SKIP LOCKED lets other lanes and hosts
 * pass it by. The inbox is read by a separate statement on purpose: in READ COMMITTED a statement's snapshot is taken
 * before it waits for the lock, so reading messages in the claiming statement could see messages another lane
 * consumed just before releasing the row (caught by the kill -9 conformance test as duplicated completions).
 */
const CLAIM_SQL = `
with candidates as (
  select distinct e.instance_id from durabletask.inbox e where e.visible_at <= clock_timestamp() limit 256)
select i.*, (select count(*) from candidates)::int as candidates from durabletask.instances i
where i.instance_id in (select instance_id from candidates)
  and (i.ready_after is null or i.ready_after <= clock_timestamp())
  and (i.status <> 'Suspended' or exists (
    select 1 from durabletask.inbox c where c.instance_id = i.instance_id and c.event_type in (3, 20)))
for update of i skip locked
limit 1`;

const INBOX_SQL = `
select id, execution_id, event from durabletask.inbox
where instance_id = $1 and visible_at <= clock_timestamp() order by id limit 5000`;

type ClaimedInstance = InstanceRow & { candidates: number };

/** What an episode queued for workers. */
interface Queued {
  inbox: boolean;
  activities: boolean;
}

/** Replays cheaper than this never delay the next episode (a chain of small steps stays fast). */
const MIN_DEFERRED_REPLAY_MS = 10;

export class OrchestrationWorker {
  readonly signal = new WakeSignal();
  #running = false;
  #lanes: Promise<void>[] = [];
  #cache = new Map<string, CachedHistory>();
  /** Episodes completed by this host and time spent replaying in the SDK (for benchmarks and diagnostics). */
  episodes = 0;
  replayMs = 0;

  constructor(
    private readonly pool: Pool,
    private readonly invoke: OrchestratorInvoker,
    private readonly log: HostLogger,
    private readonly lanes: number,
    /** Wakes this host's activity worker at once (other hosts hear the NOTIFY). */
    private readonly onActivitiesScheduled: () => void = () => undefined,
    private readonly cacheSize = 256,
  ) {}

  start(): void {
    this.#running = true;
    for (let i = 0; i < this.lanes; i++) this.#lanes.push(this.#lane());
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.signal.notifyAll();
    await Promise.all(this.#lanes);
  }

  async #lane(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        const outcome = await this.#tryEpisode();
        failures = 0;
        // After an episode with other instances waiting, claim again at once; otherwise sleep until woken.
        if (outcome === 'more') continue;
        await this.signal.wait(await this.#idleWaitMs());
      } catch (err) {
        failures++;
        this.log.error(`orchestration episode failed: ${(err as Error).message}`);
        // Back off on repeated failures (e.g. database restarting) instead of spinning.
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** How long an idle lane may sleep: until the next timer is due, but never long (notifications can be lost on reconnect). */
  async #idleWaitMs(): Promise<number> {
    const result = await this.pool.query<{ ms: number | null }>({
      name: 'durabletask-next-due',
      text: `select (extract(epoch from least(
          (select min(visible_at) from durabletask.inbox where visible_at > clock_timestamp()),
          (select min(ready_after) from durabletask.instances where ready_after > clock_timestamp())
        ) - clock_timestamp()) * 1000)::float8 as ms`,
    });
    const ms = result.rows[0]?.ms;
    return ms === null || ms === undefined ? 2000 : Math.min(2000, Math.max(1, Math.ceil(ms)));
  }

  /** Runs one episode if an instance is ready: 'more' when other instances were ready too. */
  async #tryEpisode(): Promise<'none' | 'one' | 'more'> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const claimed = await client.query<ClaimedInstance>({ name: 'durabletask-claim-instance', text: CLAIM_SQL });
      const instance = claimed.rows[0];
      if (!instance) {
        await client.query('commit');
        return 'none';
      }
      // Another lane can take another instance while this one replays.
      if (instance.candidates > 1) this.signal.notifyOne();
      const sentMessages = await this.#runEpisode(client, instance);
      await client.query('commit');
      this.episodes++;
      // Messages this host queued (timers, children, a new generation) would otherwise wait for the next poll.
      if (sentMessages.inbox) this.signal.notifyOne();
      if (sentMessages.activities) this.onActivitiesScheduled();
      return instance.candidates > 1 ? 'more' : 'one';
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Returns what the episode queued, so this host's workers can be woken once it commits. */
  async #runEpisode(client: PoolClient, instance: ClaimedInstance): Promise<Queued> {
    const inbox = await client.query<{ id: string; execution_id: string | null; event: string }>({
      name: 'durabletask-read-inbox',
      text: INBOX_SQL,
      values: [instance.instance_id],
    });
    const rows: InboxRow[] = [];
    const dropped: string[] = [];
    for (const row of inbox.rows) {
      const stale = row.execution_id !== null && row.execution_id !== instance.execution_id;
      if (stale || isTerminal(instance.status)) dropped.push(row.id);
      else rows.push({ id: row.id, executionId: row.execution_id, event: JSON.parse(row.event) as InboxEvent });
    }
    const batch = selectBatch(rows, instance.status === 'Suspended');
    const consumed = [...dropped, ...batch.map((r) => r.id)];
    if (batch.length > 0) return this.#process(client, instance, batch.map((r) => r.event), consumed);
    if (consumed.length) await client.query('delete from durabletask.inbox where id = any($1::bigint[])', [consumed]);
    return { inbox: false, activities: false };
  }

  async #loadHistory(client: PoolClient, instance: InstanceRow): Promise<string[]> {
    const cached = this.#cache.get(instance.instance_id);
    if (cached && cached.executionId === instance.execution_id && cached.episode === instance.episode) return cached.events;
    // A generation's first episode (every new instance) has nothing to read.
    if (instance.history_events === 0) return [];
    const result = await client.query<{ event: string }>('select event from durabletask.history where instance_id = $1 order by seq', [instance.instance_id]);
    return result.rows.map((r) => r.event);
  }

  #remember(instanceId: string, entry: CachedHistory | undefined): void {
    this.#cache.delete(instanceId);
    if (!entry) return;
    this.#cache.set(instanceId, entry);
    if (this.#cache.size > this.cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }

  async #process(client: PoolClient, instance: InstanceRow, messages: InboxEvent[], consumed: string[]): Promise<Queued> {
    const first = messages[0];
    if (!first) return { inbox: false, activities: false };
    const now = episodeTime(instance, messages);
    const state: EpisodeState = {
      instanceId: instance.instance_id,
      executionId: instance.execution_id,
      name: instance.name,
      nextEventId: instance.next_event_id,
      processedActions: instance.processed_actions,
      now,
    };
    const plan = newPlan(state);
    const previous = await this.#loadHistory(client, instance);

    if (first.EventType === EventType.ExecutionSuspended || first.EventType === EventType.ExecutionResumed) {
      plan.history.push(strip(first));
      return this.#commitPlan(client, instance, plan, previous, first.EventType === EventType.ExecutionSuspended ? 'Suspended' : 'Running', consumed);
    }
    if (first.EventType === EventType.ExecutionTerminated) {
      plan.history.push(event(EventType.OrchestratorStarted, now.toISOString()), strip(first), event(EventType.OrchestratorCompleted, now.toISOString()));
      const reason = typeof first.Input === 'string' ? first.Input : '';
      plan.outcome = { kind: 'terminated', reason };
      return this.#commitPlan(client, instance, plan, previous, 'Terminated', consumed);
    }

    plan.history.push(event(EventType.OrchestratorStarted, now.toISOString()));
    const isRetryEpisode = messages.some((m) => m._retry && !(m.EventType === EventType.TimerFired && m._retry.exhausted));
    if (isRetryEpisode) applyRetryMessages(plan, state, messages);
    else plan.history.push(...messages.map(strip));

    const contextJson = buildContext(instance, previous, plan.history);
    let result: OrchestratorResult;
    let failure: string | undefined;
    const replayStarted = performance.now();
    try {
      result = await this.invoke(instance.name, contextJson, instance.instance_id);
    } catch (err) {
      const parsed = parseOrchestratorFailure(err);
      failure = parsed.message;
      result = parsed.state ?? { isDone: false, actions: [[]] };
    }
    const replayMs = performance.now() - replayStarted;
    this.replayMs += replayMs;
    if ('customStatus' in result) plan.customStatus = result.customStatus === undefined ? null : JSON.stringify(result.customStatus);
    if (!isRetryEpisode || failure !== undefined) applyActions(plan, state, result);
    applyOutcome(plan, state, result, failure);
    plan.history.push(event(EventType.OrchestratorCompleted, now.toISOString()));
    const status = plan.outcome?.kind === 'completed' ? 'Completed' : plan.outcome?.kind === 'failed' ? 'Failed' : 'Running';
    return this.#commitPlan(client, instance, plan, previous, status, consumed, replayMs);
  }

  /**
   * @param replayMs time the SDK took; an instance whose replay is expensive (a large fan-out) waits about as long
   * before its next episode, so completions accumulate and replay never takes more than half the time.
   */
  async #commitPlan(client: PoolClient, instance: InstanceRow, plan: EpisodePlan, previous: string[], status: string, consumed: string[], replayMs = 0): Promise<Queued> {
    const id = instance.instance_id;
    const exec = instance.execution_id;
    const stored = plan.history.map((e) => JSON.stringify({ ...e, IsPlayed: true }));
    const outcome = plan.outcome;
    let executionId = exec;
    let historyEvents = previous.length + stored.length;
    let generation = instance.generation;
    let input = instance.input;
    let processed = plan.processedActions;
    let nextEventId = plan.nextEventId;
    let output: string | null = instance.output;
    if (outcome?.kind === 'continuedAsNew') {
      executionId = newExecutionId();
      generation++;
      input = outcome.input;
      processed = 0;
      nextEventId = 0;
      historyEvents = 0;
    } else if (outcome) {
      output = outcome.kind === 'terminated' ? JSON.stringify(outcome.reason) : outcome.output;
    }

    // The common path in one round trip: append history, schedule activities and timers, consume the inbox
    // messages, advance the instance. (Statement triggers notify other hosts only when rows were inserted.)
    const updated = await client.query<{ episode: number }>({
      // Named: prepared once per connection, so the planner does not re-plan this statement every episode.
      name: 'durabletask-commit-episode',
      text: `with h as (
         insert into durabletask.history (instance_id, seq, event)
         select $1, $14 + t.ord - 1, t.ev from unnest($15::text[]) with ordinality as t(ev, ord)),
       a as (
         insert into durabletask.activities (instance_id, execution_id, task_id, name, input, retry)
         select $1, $16, t.task_id, t.name, t.input, t.retry
         from unnest($17::int[], $18::text[], $19::text[], $20::text[]) as t(task_id, name, input, retry)),
       m as (
         insert into durabletask.inbox (instance_id, execution_id, event_type, event, visible_at)
         select $1, $16, t.et, t.ev, t.at from unnest($21::int[], $22::text[], $23::timestamptz[]) as t(et, ev, at)),
       d as (delete from durabletask.inbox where id = any($24::bigint[]))
       update durabletask.instances set status = $2, execution_id = $3, generation = $4, input = $5, output = $6,
         custom_status = coalesce($7, custom_status), processed_actions = $8, next_event_id = $9, history_events = $10,
         episode = episode + 1, last_timestamp = $11, updated_at = clock_timestamp(),
         ready_after = case when $12::float8 > $13::float8 then clock_timestamp() + make_interval(secs => $12::float8 / 1000) else null end,
         completed_at = case when $2 in ('Completed', 'Failed', 'Terminated') then clock_timestamp() else null end
       where instance_id = $1 returning episode`,
      values: [
        id, status, executionId, generation, input, output, plan.customStatus === undefined ? null : plan.customStatus ?? 'null',
        processed, nextEventId, historyEvents, new Date(planTime(plan)), replayMs, MIN_DEFERRED_REPLAY_MS,
        previous.length, stored,
        exec, plan.activities.map((a) => a.taskId), plan.activities.map((a) => a.name), plan.activities.map((a) => a.input),
        plan.activities.map((a) => (a.retry ? JSON.stringify(a.retry) : null)),
        plan.selfMessages.map((m) => m.event.EventType), plan.selfMessages.map((m) => JSON.stringify(m.event)), plan.selfMessages.map((m) => m.visibleAt),
        consumed,
      ],
    });

    for (const child of plan.children) {
      const parent: ParentLink = { instanceId: id, executionId: exec, taskId: child.taskId, name: instance.name, retry: child.retry };
      const created = await createInstance(client, { instanceId: child.instanceId, name: child.name, version: child.version, input: child.input, parent });
      if (created === 'conflict') {
        const reason = `An orchestration with instance id '${child.instanceId}' is already running`;
        await sendMessage(client, id, exec, {
          ...event(EventType.SubOrchestrationInstanceFailed, new Date().toISOString(), { TaskScheduledId: child.taskId, Reason: reason, Details: reason }),
          ...(child.retry ? { _retry: child.retry } : {}),
        });
      }
    }
    if (outcome?.kind === 'continuedAsNew') {
      // A new generation: fresh history and ids; pending work of the old one is dropped (as DTFx does).
      await client.query('delete from durabletask.history where instance_id = $1', [id]);
      await client.query('delete from durabletask.activities where instance_id = $1 and execution_id = $2 and owner is null', [id, exec]);
      await enqueueStart(client, id, executionId, instance.name, instance.version, input, instance.parent);
    } else if (outcome) {
      await client.query('delete from durabletask.activities where instance_id = $1 and execution_id = $2 and owner is null', [id, exec]);
      await this.#notifyParent(client, instance, outcome);
    }

    const episode = updated.rows[0]?.episode ?? 0;
    const keep = outcome && outcome.kind !== 'continuedAsNew' ? undefined : { executionId, episode, events: outcome ? [] : [...previous, ...stored] };
    this.#remember(id, keep);
    return {
      inbox: plan.selfMessages.length > 0 || plan.children.length > 0 || outcome?.kind === 'continuedAsNew' || (!!outcome && !!instance.parent),
      activities: plan.activities.length > 0,
    };
  }

  async #notifyParent(client: PoolClient, instance: InstanceRow, outcome: NonNullable<EpisodePlan['outcome']>): Promise<void> {
    const parent = instance.parent;
    if (!parent) return;
    const ts = new Date().toISOString();
    let message: InboxEvent;
    if (outcome.kind === 'completed') {
      message = event(EventType.SubOrchestrationInstanceCompleted, ts, { TaskScheduledId: parent.taskId, Result: outcome.output });
    } else {
      const reason = outcome.kind === 'failed' ? outcome.reason : `Orchestrator function '${instance.name}' was terminated: ${outcome.kind === 'terminated' ? outcome.reason : ''}`;
      const details = outcome.kind === 'failed' ? outcome.details : reason;
      message = { ...event(EventType.SubOrchestrationInstanceFailed, ts, { TaskScheduledId: parent.taskId, Reason: reason, Details: details }), ...(parent.retry ? { _retry: parent.retry } : {}) };
    }
    await sendMessage(client, parent.instanceId, parent.executionId, message);
  }
}

function strip(message: InboxEvent): HistoryEvent {
  const { _retry: _ignored, ...rest } = message;
  return rest;
}

/**
 * The episode's OrchestratorStarted time: the wall clock, but never before the previous episode (currentUtcDateTime
 * must not go backwards) nor before a timer being delivered (the SDK checks fireAt against it).
 */
function episodeTime(instance: InstanceRow, messages: InboxEvent[]): Date {
  let at = Date.now();
  if (instance.last_timestamp) at = Math.max(at, instance.last_timestamp.getTime());
  for (const m of messages) {
    if (m.EventType === EventType.TimerFired && typeof m.FireAt === 'string') at = Math.max(at, Date.parse(m.FireAt));
  }
  return new Date(at);
}

function planTime(plan: EpisodePlan): number {
  const started = plan.history.find((e) => e.EventType === EventType.OrchestratorStarted);
  return started ? Date.parse(started.Timestamp) : Date.now();
}

/** The orchestration trigger payload (durable-protocol.md §3.1), assembled from stored JSON text without re-parsing. */
function buildContext(instance: InstanceRow, previous: string[], fresh: HistoryEvent[]): string {
  const history = [...previous, ...fresh.map((e) => JSON.stringify(e))].join(',');
  const isReplaying = previous.length > 0;
  return (
    `{"history":[${history}],"input":${instance.input ?? 'null'},"instanceId":${JSON.stringify(instance.instance_id)},` +
    `"isReplaying":${isReplaying},"parentInstanceId":${instance.parent ? JSON.stringify(instance.parent.instanceId) : 'null'},` +
    `"upperSchemaVersion":1,"upperSchemaVersionNew":2,"longRunningTimerIntervalDuration":"3.00:00:00",` +
    `"maximumShortTimerDuration":"6.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`
  );
}
