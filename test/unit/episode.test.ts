import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actionInputText, applyActions, applyRetryMessages, classify, newPlan, parseOrchestratorFailure, selectBatch, type EpisodeState, type InboxRow } from '../../local/durable/episode';
import { EventType, event, retryDelayMs, type InboxEvent, type RetryState } from '../../local/durable/history';

const now = new Date('2026-01-01T00:00:00.000Z');
const state = (nextEventId = 0): EpisodeState => ({ instanceId: 'i', executionId: 'e', name: 'Orch', nextEventId, processedActions: 0, now });
const retry = (attempt: number, extra: Partial<RetryState> = {}): RetryState => ({
  kind: 'activity', name: 'Fail', input: '"z"', options: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 3, backoffCoefficient: 2 },
  attempt, firstAttemptAt: now.toISOString(), ...extra,
});
const row = (id: number, e: InboxEvent): InboxRow => ({ id: String(id), executionId: 'e', event: e });
const ts = now.toISOString();

describe('Durable episode logic', () => {
  it('computes retry delays like DTFx: first × coefficient^(k−1), capped by maxRetryInterval', () => {
    const options = { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 5, backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 3000 };
    assert.deepEqual([1, 2, 3, 4].map((k) => retryDelayMs(options, k)), [1000, 2000, 3000, 3000]);
    assert.equal(retryDelayMs({ firstRetryIntervalInMilliseconds: 500, maxNumberOfAttempts: 2 }, 3), 500);
  });

  it('never mixes retry bookkeeping with messages that resume user code in one episode', () => {
    const failed = { ...event(EventType.TaskFailed, ts, { TaskScheduledId: 0 }), _retry: retry(1) };
    const completed = event(EventType.TaskCompleted, ts, { TaskScheduledId: 1, Result: '1' });
    const exhaustedTimer = { ...event(EventType.TimerFired, ts, { TimerId: 2 }), _retry: retry(3, { exhausted: true }) };
    assert.equal(classify(failed), 'retry');
    assert.equal(classify(completed), 'normal');
    assert.equal(classify(exhaustedTimer), 'normal');
    assert.deepEqual(selectBatch([row(1, completed), row(2, failed), row(3, completed)], false).map((r) => r.id), ['1']);
    assert.deepEqual(selectBatch([row(1, failed), row(2, failed), row(3, completed)], false).map((r) => r.id), ['1', '2']);
  });

  it('takes control messages alone, and only resume or terminate while suspended', () => {
    const suspend = event(EventType.ExecutionSuspended, ts);
    const raised = event(EventType.EventRaised, ts, { Name: 'x' });
    const resume = event(EventType.ExecutionResumed, ts);
    assert.deepEqual(selectBatch([row(1, suspend), row(2, raised)], false).map((r) => r.id), ['1']);
    assert.deepEqual(selectBatch([row(1, raised), row(2, resume)], true).map((r) => r.id), ['2']);
    assert.deepEqual(selectBatch([row(1, raised)], true), []);
  });

  it('after a failed attempt schedules the retry timer with the next id and the policy delay', () => {
    const plan = newPlan(state(5));
    applyRetryMessages(plan, state(5), [{ ...event(EventType.TaskFailed, ts, { TaskScheduledId: 0, Reason: 'r', Details: 'd' }), _retry: retry(2) }]);
    const timer = plan.history.find((e) => e.EventType === EventType.TimerCreated);
    assert.equal(timer?.EventId, 5);
    assert.equal(timer?.FireAt, '2026-01-01T00:00:02.000Z');
    assert.equal(plan.nextEventId, 6);
    assert.equal(plan.selfMessages[0]?.event._retry?.exhausted, false);
  });

  it('after the last attempt still creates a timer (fires now) marked exhausted, as the JS SDK waits for it', () => {
    const plan = newPlan(state(7));
    applyRetryMessages(plan, state(7), [{ ...event(EventType.TaskFailed, ts, { TaskScheduledId: 6, Reason: 'r', Details: 'd' }), _retry: retry(3) }]);
    assert.equal(plan.selfMessages[0]?.visibleAt.getTime(), now.getTime());
    assert.equal(plan.selfMessages[0]?.event._retry?.exhausted, true);
  });

  it('when a retry timer fires, re-schedules the activity with the next id and attempt + 1', () => {
    const plan = newPlan(state(2));
    applyRetryMessages(plan, state(2), [{ ...event(EventType.TimerFired, ts, { TimerId: 1 }), _retry: retry(1) }]);
    assert.deepEqual(plan.history.map((e) => [e.EventType, e.EventId]), [[EventType.TimerFired, -1], [EventType.TaskScheduled, 2]]);
    assert.equal(plan.activities[0]?.retry?.attempt, 2);
  });

  it('allocates ids depth-first through WhenAll/WhenAny in yield order and skips waits for events', () => {
    const plan = newPlan(state(0));
    applyActions(plan, state(0), {
      isDone: false,
      actions: [[
        { actionType: 12, compoundActions: [{ actionType: 0, functionName: 'A', input: 1 }, { actionType: 0, functionName: 'B', input: '"s"' }] },
        { actionType: 11, compoundActions: [{ actionType: 6 }, { actionType: 5, fireAt: '2026-01-01T00:01:00.000Z', isCanceled: false }] },
        { actionType: 2, functionName: 'Child', input: 'x', instanceId: 'c1' },
      ]],
    });
    assert.deepEqual(plan.history.map((e) => [e.EventType, e.EventId]), [
      [EventType.TaskScheduled, 0], [EventType.TaskScheduled, 1], [EventType.TimerCreated, 2], [EventType.SubOrchestrationInstanceCreated, 3],
    ]);
    assert.deepEqual(plan.activities.map((a) => a.input), ['1', '"s"']);
    assert.equal(plan.children[0]?.input, '"x"');
    assert.equal(plan.processedActions, 3);
  });

  it('decodes the SDK input quirk: activity string inputs arrive JSON-encoded, sub-orchestration inputs raw', () => {
    assert.equal(actionInputText({ actionType: 0, input: '"Tokyo"' }), '"Tokyo"');
    assert.equal(actionInputText({ actionType: 2, input: 'Tokyo' }), '"Tokyo"');
    assert.equal(actionInputText({ actionType: 0 }), null);
  });

  it('splits the SDK failure message into the error and the out-of-proc state', () => {
    const state = { isDone: false, actions: [[{ actionType: 0, functionName: 'A' }]], error: 'boom' };
    const parsed = parseOrchestratorFailure(new Error(`boom\n\n$OutOfProcData$:${JSON.stringify(state)}`));
    assert.equal(parsed.message, 'boom');
    assert.equal(parsed.state?.actions[0]?.length, 1);
    assert.equal(parseOrchestratorFailure(new Error('plain')).message, 'plain');
  });
});
