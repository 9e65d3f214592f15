/**
 * DTFx history events as the durable-functions SDK reads them: PascalCase fields as Newtonsoft writes DTFx's
 * `DurableTask.Core/History` classes, EventType as a number, EventId -1 except on scheduling events (the backend is
 * described in docs/local-host.md).
 */
export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

/** OrchestrationStatus values carried by ExecutionCompleted. */
export enum OrchestrationStatus {
  Running = 0,
  Completed = 1,
  ContinuedAsNew = 2,
  Failed = 3,
  Terminated = 5,
}

/** A history event; fields beyond the common ones depend on EventType. */
export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed?: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

/** Retry bookkeeping the backend attaches to inbox messages of retried tasks; stripped before entering history. */
export interface RetryState {
  kind: 'activity' | 'orchestration';
  name: string;
  /** JSON text of the input, or null when there was none. */
  input: string | null;
  instanceId?: string;
  options: RetryOptions;
  attempt: number;
  firstAttemptAt: string;
  /** Remaining attempts fail at once (retry timeout passed or the failure was non-retriable). */
  giveUp?: boolean;
  /** Set on the retry timer after the last permitted attempt: its firing fails the task in the SDK. */
  exhausted?: boolean;
  lastFailure?: { Reason: string; Details: string; FailureDetails?: unknown };
}

/** durable-functions RetryOptions as serialised in CallActivityWithRetry / CallSubOrchestratorWithRetry. */
export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** An inbox message: an event plus optional retry bookkeeping. */
export interface InboxEvent extends HistoryEvent {
  _retry?: RetryState;
}

export function event(type: EventType, timestamp: string, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp, ...fields };
}

/** Delay before retry attempt k+1 after attempt k failed (DTFx RetryInterceptor.ComputeNextDelay). */
export function retryDelayMs(options: RetryOptions, failedAttempt: number): number {
  const coefficient = options.backoffCoefficient ?? 1;
  const delay = options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, failedAttempt - 1);
  const cap = options.maxRetryIntervalInMilliseconds;
  return Math.max(0, Math.round(cap !== undefined && cap > 0 ? Math.min(delay, cap) : delay));
}

/** Runtime statuses reported by the management API. */
export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'Suspended' | 'ContinuedAsNew' | 'Canceled';

export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated', 'Canceled'];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
