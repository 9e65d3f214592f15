/**
 * Pure bounds, no process started: template sizes computed from their parts, errors cut before they enter the Durable
 * history, JSON values counted on the text, and the queue name whose poison queue must also be a valid name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateSubmission } from '../../shared/jobs/jobStore';
import { FUZZ_SEED, KIND_NAMES, kindInputs } from '../security/arbitraries';
import { parseConfig } from '../../shared/config';
import { ValidationError } from '../../shared/errors';
import { interpolate, interpolatedBytes } from '../../shared/kinds/workflow/graph';
import { boundJobError, JOB_ERROR_BOUNDS } from '../../shared/orchestration/contracts';
import { jsonValuesOver } from '../../shared/pgText';

/** The smallest limit the text does not pass: its count of values. */
function countValues(text: string): number {
  let lo = 0;
  let hi = 1_000;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (jsonValuesOver(text, mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

describe('template sizes', () => {
  it('interpolatedBytes is the UTF-8 size of the filled-in template, without building it', () => {
    const outputs = new Map([
      ['a', 'héllo ✓'],
      ['b', ''],
      ['c', '𝄞'.repeat(10)],
    ]);
    for (const template of ['', 'plain', '{{a}}', 'x{{a}}y{{ b }}z{{c}}{{a}}', '{{missing}} stays', '€{{c}}€', '{{a}}'.repeat(100)]) {
      const sizes = (name: string) => (outputs.has(name) ? Buffer.byteLength(outputs.get(name)!) : undefined);
      assert.equal(interpolatedBytes(template, sizes), Buffer.byteLength(interpolate(template, outputs)), template);
    }
  });
});

describe('errors crossing the Durable history', () => {
  it('keeps the first issues of a huge zod list, each cut, and says how many more there were', () => {
    const issues = Array.from({ length: 200_000 }, (_, i) => ({ path: `input.nodes[${i}].id`, message: 'x'.repeat(10_000) }));
    const error = new ValidationError(`input.nodes[0].id: ${'x'.repeat(10_000)}`, issues);
    const bounded = boundJobError({ message: error.message, code: 'invalid_input', details: error.details });
    const size = JSON.stringify(bounded).length;
    assert.ok(size < 32 * 1024, `${size} characters`);
    assert.equal(bounded.message.length, JOB_ERROR_BOUNDS.messageChars);
    const details = bounded.details as { issues: { path: string; message: string }[]; moreIssues: number };
    assert.equal(details.issues.length, JOB_ERROR_BOUNDS.issues);
    assert.equal(details.issues[0]!.path, 'input.nodes[0].id');
    assert.equal(details.issues[0]!.message.length, JOB_ERROR_BOUNDS.issueChars);
    assert.equal(details.moreIssues, 200_000 - JOB_ERROR_BOUNDS.issues);
    assert.deepEqual(boundJobError(bounded), bounded, 'bounding twice changes nothing');
  });

  it('keeps small details as they are and drops large ones that are not an issue list', () => {
    assert.deepEqual(boundJobError({ message: 'm', code: 'c', key: 'k', details: { limit: 3 } }), { message: 'm', code: 'c', key: 'k', details: { limit: 3 } });
    assert.deepEqual(boundJobError({ message: 'm', details: { page: 'x'.repeat(100_000) } }), { message: 'm' });
  });
});

describe('JSON values counted on the text', () => {
  it('counts objects, arrays, strings, numbers and literals, not keys, not what is inside strings', () => {
    assert.equal(countValues('{}'), 1);
    assert.equal(countValues('"s"'), 1);
    assert.equal(countValues('["a","b","c"]'), 4);
    assert.equal(countValues('{"a":"x:y","b":[1,-2.5e3,true,null,"q\\"{[1,2]"]}'), 8);
    assert.equal(countValues(` { "k" : { "j" : [ ] } } `), 3);
    assert.equal(countValues(`[${'{},'.repeat(99)}{}]`), 101);
  });
});

describe('JOBS_QUEUE_NAME', () => {
  it('accepts names whose "<name>-poison" is still a valid queue name', () => {
    for (const name of ['jobs', 'abc', 'a1-b2', 'a'.repeat(56)]) assert.equal(parseConfig({ JOBS_QUEUE_NAME: name }).jobsQueueName, name);
  });

  it('refuses, naming the setting, a name too long for its poison queue or breaking the queue name rules', () => {
    for (const name of ['a'.repeat(57), 'a'.repeat(63), 'ab--cd', '-abc', 'abc-', 'Jobs', 'ab', 'jobs_1']) {
      assert.throws(() => parseConfig({ JOBS_QUEUE_NAME: name }), /Setting JOBS_QUEUE_NAME is invalid: .*3-56 .*poison/, name);
    }
  });
});

describe('the stored input is the parsed one', () => {
  for (const kind of KIND_NAMES) {
    it(`${kind}: what is stored validates again to itself after the jsonb round trip`, () => {
      fc.assert(
        fc.property(kindInputs[kind]!, (input) => {
          let stored: unknown;
          try {
            stored = validateSubmission({ kind, input });
          } catch (err) {
            if (err instanceof ValidationError) return;
            throw err;
          }
          const fromJsonb = JSON.parse(JSON.stringify(stored)) as unknown;
          assert.deepEqual(JSON.parse(JSON.stringify(validateSubmission({ kind, input: fromJsonb }))), fromJsonb);
        }),
        { seed: FUZZ_SEED, numRuns: 300 },
      );
    });
  }
});
