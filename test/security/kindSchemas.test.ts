/**
 * Unit-level fuzzing of every kind's input validation (zod schema + the kind's own checks), with many more cases than
 * the HTTP fuzz can afford: whatever arrives, the answer is a ValidationError naming a field under `input` (400), or an
 * input whose price is a whole number of credits and that survives the jsonb round trip unchanged (the engine parses
 * the stored input again at planning time: an input valid at submission and invalid there would be charged, then fail).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseInput } from '../../shared/engine/activities';
import { ValidationError } from '../../shared/errors';
import { findKind } from '../../shared/kinds';
import { validateSubmission } from '../../shared/jobs/jobStore';
import { FUZZ_SEED, junkJson, KIND_NAMES, kindInputs, nastyString } from './arbitraries';

const RUNS_PER_KIND = Number(process.env.FUZZ_SCHEMA_RUNS ?? 5000);

/** The outcome of validating one input: its parsed value, or the issues of the 400. */
function validate(kind: string, input: unknown): { ok: true; value: unknown } | { ok: false; error: ValidationError } {
  try {
    validateSubmission({ kind, input });
    return { ok: true, value: parseInput(findKind(kind)!, input) };
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, error: err };
    throw new Error(`validating ${kind} threw ${(err as Error).name}, not a ValidationError: ${(err as Error).message}`);
  }
}

describe(`kind input schemas under fuzzing (seed ${FUZZ_SEED}, FUZZ_SEED to replay)`, () => {
  for (const kind of KIND_NAMES) {
    it(`${kind}: every input is either priced and stable through jsonb, or a 400 naming a field under input`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(fc.oneof({ weight: 4, arbitrary: kindInputs[kind]! }, { weight: 1, arbitrary: junkJson() }), (input) => {
          const outcome = validate(kind, input);
          if (!outcome.ok) {
            assert.equal(outcome.error.status, 400);
            const issues = outcome.error.issues;
            assert.ok(issues.length > 0, 'a 400 lists its issues');
            for (const issue of issues) assert.match(issue.path, /^input(\.|\[|$)/, `issue path ${issue.path} names a field of the input`);
            assert.ok(outcome.error.message.startsWith(issues[0]!.path), 'the message starts with the field');
            return;
          }
          accepted++;
          const units = findKind(kind)!.units(outcome.value);
          assert.ok(Number.isSafeInteger(units) && units >= 0, `units ${units} is a whole number of credits`);
          // What the API stores is JSON.stringify(input) in jsonb; the engine validates that again before planning.
          const stored = JSON.parse(JSON.stringify(input)) as unknown;
          const again = validate(kind, stored);
          assert.ok(again.ok, `accepted at submission but rejected after the jsonb round trip: ${again.ok ? '' : again.error.message}`);
          assert.deepEqual(again.value, JSON.parse(JSON.stringify(outcome.value)));
        }),
        { seed: FUZZ_SEED, numRuns: RUNS_PER_KIND },
      );
      // Not a vacuous property: the generator reaches valid inputs too.
      assert.ok(accepted > 0, `${kind}: no generated input was valid`);
    });
  }

  it('an unknown or malformed kind is a 400 on the kind field, whatever the input', () => {
    fc.assert(
      fc.property(nastyString().filter((k) => !KIND_NAMES.includes(k)), junkJson(), (kind, input) => {
        const outcome = validate(kind, input);
        assert.ok(!outcome.ok);
        assert.equal(outcome.error.issues[0]?.path, 'kind');
      }),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
  });
});
