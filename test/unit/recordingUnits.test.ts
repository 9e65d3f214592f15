/** Pro-rata pricing of recordings: the segments of any recording carry exactly the ten tenths sold at submission. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RECORDING_UNITS, segmentUnits } from '../../shared/kinds/recordingAnalysis';

describe('recording segment units', () => {
  it('sum to the units charged for every segment count, and never go negative', () => {
    for (let count = 1; count <= 60; count++) {
      const units = Array.from({ length: count }, (_, i) => segmentUnits(i, count));
      assert.equal(units.reduce((a, b) => a + b, 0), RECORDING_UNITS, `${count} segments`);
      assert.ok(units.every((u) => u >= 0));
    }
    assert.deepEqual([0, 1, 2, 3].map((i) => segmentUnits(i, 4)), [2, 3, 2, 3]);
  });
});
