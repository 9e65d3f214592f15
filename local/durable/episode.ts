/**
 * One orchestration episode, as pure logic: which inbox messages it consumes, the history events it appends, and the
 * work it schedules, given what the SDK returned. Sequence ids are allocated exactly as the SDK allocates them
 * (durable-protocol.md §4.4): one per activity, sub-orchestration, timer and HTTP call, in depth-first yield order,
 * plus the retry timers and re-attempts of §4.5.
 */
import { randomUUID } from 'node:crypto';
import { EventType, OrchestrationStatus, event, retryDelayMs, type HistoryEvent, type InboxEvent, type RetryState } from './history';

/** A message read from the inbox. */
export interface InboxRow {
  id: string;
  executionId: string | null;
  event: InboxEvent;
}

/** Class of an inbox message: it decides which messages may share an episode. */
export type MessageClass = 'control' | 'retry' | 'normal';

/**
 * Retry bookkeeping (a failed attempt, or a retry timer with attempts left) allocates ids without resuming user code;
 * everything else resumes user code, which allocates ids for whatever it yields next. Mixing both in one episode
 * would make the SDK's numbering depend on event order in a way the backend cannot see, so they never share one.
 */
export function classify(message: InboxEvent): MessageClass {
  switch (message.EventType) {
    case EventType.ExecutionTerminated:
    case EventType.ExecutionSuspended:
    case EventType.ExecutionResumed:
      return 'control';
    case EventType.TaskFailed:
    case EventType.SubOrchestrationInstanceFailed:
      return message._retry ? 'retry' : 'normal';
    case EventType.TimerFired:
      return message._retry && !message._retry.exhausted ? 'retry' : 'normal';
    default:
      return 'normal';
  }
}

/** Picks the messages of the next episode: the longest run of one class from the front (control messages alone). */
export function selectBatch(rows: InboxRow[], suspended: boolean, limit = 5000): InboxRow[] {
  if (suspended) {
    const control = rows.find((r) => r.event.EventType === EventType.ExecutionResumed || r.event.EventType === EventType.ExecutionTerminated);
    return control ? [control] : [];
  }
  const first = rows[0];
  if (!first) return [];
  const kind = classify(first.event);
  if (kind === 'control') return [first];
  const batch: InboxRow[] = [];
  for (const row of rows) {
    if (classify(row.event) !== kind || batch.length >= limit) break;
    batch.push(row);
  }
  return batch;
}

/** An action as the SDK serialises it (durable-protocol.md §4.3). */
export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  version?: string;
  retryOptions?: RetryState['options'];
  fireAt?: string;
  isCanceled?: boolean;
  compoundActions?: Action[];
  httpRequest?: unknown;
}

/** What the orchestrator handler returned (OrchestratorState). */
export interface OrchestratorResult {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  failureDetails?: unknown;
}

export interface ScheduledActivity {
  taskId: number;
  name: string;
  input: string | null;
  retry: RetryState | null;
}

export interface ScheduledChild {
  taskId: number;
  instanceId: string;
  name: string;
  version: string;
  input: string | null;
  retry: RetryState | null;
}

export interface SelfMessage {
  event: InboxEvent;
  visibleAt: Date;
}

/** Everything an episode changes, applied by the worker in one transaction. */
export interface EpisodePlan {
  history: HistoryEvent[];
  activities: ScheduledActivity[];
  children: ScheduledChild[];
  selfMessages: SelfMessage[];
  nextEventId: number;
  processedActions: number;
  outcome?:
    | { kind: 'completed'; output: string }
    | { kind: 'failed'; output: string; reason: string; details: string }
    | { kind: 'continuedAsNew'; input: string | null }
    | { kind: 'terminated'; reason: string };
  customStatus?: string | null;
  /** Unsupported feature used by the orchestrator; the instance fails with this message. */
  unsupported?: string;
}

export interface EpisodeState {
  instanceId: string;
  executionId: string;
  name: string;
  nextEventId: number;
  processedActions: number;
  now: Date;
}

/** JSON text of an action's input. CallActivity(WithRetry) and ContinueAsNew JSON-encode string inputs (§4.3). */
export function actionInputText(action: Action): string | null {
  if (action.input === undefined) return null;
  if (typeof action.input === 'string' && (action.actionType === 0 || action.actionType === 1 || action.actionType === 4)) {
    return action.input;
  }
  return JSON.stringify(action.input);
}

export function newPlan(state: EpisodeState): EpisodePlan {
  return { history: [], activities: [], children: [], selfMessages: [], nextEventId: state.nextEventId, processedActions: state.processedActions };
}

function scheduleTask(plan: EpisodePlan, state: EpisodeState, retry: RetryState): void {
  const id = plan.nextEventId++;
  const ts = state.now.toISOString();
  if (retry.kind === 'activity') {
    plan.history.push(event(EventType.TaskScheduled, ts, { Name: retry.name, Version: '', ...(retry.input !== null ? { Input: retry.input } : {}) }, id));
    if (retry.giveUp && retry.lastFailure) {
      // The retry budget is spent: the SDK still waits for this attempt, so it fails at once with the last error.
      plan.selfMessages.push({
        event: { ...event(EventType.TaskFailed, ts, { TaskScheduledId: id, ...retry.lastFailure }), _retry: retry },
        visibleAt: state.now,
      });
    } else {
      plan.activities.push({ taskId: id, name: retry.name, input: retry.input, retry });
    }
    return;
  }
  const instanceId = retry.instanceId ?? `${state.executionId}:${id}`;
  plan.history.push(
    event(EventType.SubOrchestrationInstanceCreated, ts, { Name: retry.name, Version: '', InstanceId: instanceId, ...(retry.input !== null ? { Input: retry.input } : {}) }, id),
  );
  if (retry.giveUp && retry.lastFailure) {
    plan.selfMessages.push({
      event: { ...event(EventType.SubOrchestrationInstanceFailed, ts, { TaskScheduledId: id, ...retry.lastFailure }), _retry: retry },
      visibleAt: state.now,
    });
  } else {
    plan.children.push({ taskId: id, instanceId, name: retry.name, version: '', input: retry.input, retry });
  }
}

/** Appends the inbound messages of a retry-class episode and the bookkeeping they cause (§4.5). */
export function applyRetryMessages(plan: EpisodePlan, state: EpisodeState, messages: InboxEvent[]): void {
  for (const message of messages) {
    const { _retry: retry, ...historyEvent } = message;
    plan.history.push(historyEvent);
    if (!retry) continue;
    if (message.EventType === EventType.TimerFired) {
      scheduleTask(plan, state, { ...retry, attempt: retry.attempt + 1 });
      continue;
    }
    // A failed attempt: the SDK now waits on a timer id, even after the last attempt (DTFx's back-compat dummy timer).
    const lastFailure = { Reason: message.Reason as string, Details: message.Details as string, ...(message.FailureDetails ? { FailureDetails: message.FailureDetails } : {}) };
    const elapsed = state.now.getTime() - Date.parse(retry.firstAttemptAt);
    const timeout = retry.options.retryTimeoutInMilliseconds;
    const nonRetriable = (message.FailureDetails as { IsNonRetriable?: boolean } | undefined)?.IsNonRetriable === true;
    const giveUp = retry.giveUp || nonRetriable || (timeout !== undefined && timeout > 0 && elapsed >= timeout);
    const exhausted = retry.attempt >= retry.options.maxNumberOfAttempts;
    const delay = exhausted || giveUp ? 0 : retryDelayMs(retry.options, retry.attempt);
    const fireAt = new Date(state.now.getTime() + delay);
    const timerId = plan.nextEventId++;
    plan.history.push(event(EventType.TimerCreated, state.now.toISOString(), { FireAt: fireAt.toISOString() }, timerId));
    plan.selfMessages.push({
      event: { ...event(EventType.TimerFired, fireAt.toISOString(), { TimerId: timerId, FireAt: fireAt.toISOString() }), _retry: { ...retry, giveUp, exhausted, lastFailure } },
      visibleAt: fireAt,
    });
  }
}

function* leaves(actions: Action[]): Generator<Action> {
  for (const action of actions) {
    if (action.actionType === 11 || action.actionType === 12) yield* leaves(action.compoundActions ?? []);
    else yield action;
  }
}

/** Turns the actions the SDK recorded since the last episode into history events and scheduled work. */
export function applyActions(plan: EpisodePlan, state: EpisodeState, result: OrchestratorResult): void {
  const all = result.actions[0] ?? [];
  const fresh = all.slice(plan.processedActions);
  plan.processedActions = all.length;
  const ts = state.now.toISOString();
  for (const action of leaves(fresh)) {
    switch (action.actionType) {
      case 0:
      case 1: {
        const input = actionInputText(action);
        const name = action.functionName ?? '';
        if (action.actionType === 1 && action.retryOptions) {
          scheduleTask(plan, state, { kind: 'activity', name, input, options: action.retryOptions, attempt: 1, firstAttemptAt: ts });
        } else {
          const id = plan.nextEventId++;
          plan.history.push(event(EventType.TaskScheduled, ts, { Name: name, Version: '', ...(input !== null ? { Input: input } : {}) }, id));
          plan.activities.push({ taskId: id, name, input, retry: null });
        }
        break;
      }
      case 2:
      case 3: {
        const input = actionInputText(action);
        const name = action.functionName ?? '';
        const retry: RetryState = {
          kind: 'orchestration',
          name,
          input,
          ...(action.instanceId ? { instanceId: action.instanceId } : {}),
          options: action.retryOptions ?? { firstRetryIntervalInMilliseconds: 0, maxNumberOfAttempts: 1 },
          attempt: 1,
          firstAttemptAt: ts,
        };
        if (action.actionType === 3 && action.retryOptions) {
          scheduleTask(plan, state, retry);
        } else {
          const id = plan.nextEventId++;
          const instanceId = action.instanceId ?? `${state.executionId}:${id}`;
          plan.history.push(
            event(EventType.SubOrchestrationInstanceCreated, ts, { Name: name, Version: action.version ?? '', InstanceId: instanceId, ...(input !== null ? { Input: input } : {}) }, id),
          );
          plan.children.push({ taskId: id, instanceId, name, version: action.version ?? '', input, retry: null });
        }
        break;
      }
      case 4:
        // ContinueAsNew is handled when the episode completes.
        break;
      case 5: {
        const id = plan.nextEventId++;
        const fireAt = new Date(action.fireAt ?? ts);
        plan.history.push(event(EventType.TimerCreated, ts, { FireAt: fireAt.toISOString() }, id));
        if (!action.isCanceled) {
          plan.selfMessages.push({ event: event(EventType.TimerFired, fireAt.toISOString(), { TimerId: id, FireAt: fireAt.toISOString() }), visibleAt: fireAt });
        }
        break;
      }
      case 6:
        // Waiting for an external event consumes no id and schedules nothing.
        break;
      case 8: {
        const id = plan.nextEventId++;
        const input = JSON.stringify(action.httpRequest ?? null);
        plan.history.push(event(EventType.TaskScheduled, ts, { Name: HTTP_ACTIVITY, Version: '', Input: input }, id));
        plan.activities.push({ taskId: id, name: HTTP_ACTIVITY, input, retry: null });
        break;
      }
      default:
        plan.unsupported = `Durable entities (action type ${action.actionType}) are not supported by the local host`;
    }
  }
}

/** The built-in activity that performs `callHttp` requests (name as in DTFx test histories). */
export const HTTP_ACTIVITY = 'BuiltIn::HttpActivity';

/** Records how the generation ends, from the SDK's result or thrown failure. */
export function applyOutcome(plan: EpisodePlan, state: EpisodeState, result: OrchestratorResult, failure?: string): void {
  const ts = state.now.toISOString();
  if (plan.unsupported || failure !== undefined) {
    const message = plan.unsupported ?? failure ?? 'unknown error';
    const reason = `Orchestrator function '${state.name}' failed: ${message}`;
    plan.history.push(event(EventType.ExecutionCompleted, ts, { OrchestrationStatus: OrchestrationStatus.Failed, Result: reason }));
    plan.outcome = { kind: 'failed', output: JSON.stringify(reason), reason, details: `Message: ${message}` };
    return;
  }
  if (!result.isDone) return;
  const continueAction = (result.actions[0] ?? []).find((a) => a.actionType === 4);
  if (continueAction) {
    const input = actionInputText(continueAction);
    plan.history.push(event(EventType.ContinueAsNew, ts, { OrchestrationStatus: OrchestrationStatus.ContinuedAsNew, Result: input ?? 'null' }));
    plan.outcome = { kind: 'continuedAsNew', input };
    return;
  }
  const output = JSON.stringify(result.output ?? null);
  plan.history.push(event(EventType.ExecutionCompleted, ts, { OrchestrationStatus: OrchestrationStatus.Completed, Result: output }));
  plan.outcome = { kind: 'completed', output };
}

/** Splits the failure the SDK throws (`<message>\n\n$OutOfProcData$:<state JSON>`, §4.1) into message and state. */
export function parseOrchestratorFailure(error: unknown): { message: string; state?: OrchestratorResult } {
  const text = error instanceof Error ? error.message : String(error);
  const label = '\n\n$OutOfProcData$:';
  const at = text.indexOf(label);
  if (at < 0) return { message: text };
  try {
    const state = JSON.parse(text.slice(at + label.length)) as OrchestratorResult;
    return { message: state.error ?? text.slice(0, at), state };
  } catch {
    return { message: text.slice(0, at) };
  }
}

export function newExecutionId(): string {
  return randomUUID().replace(/-/g, '');
}
