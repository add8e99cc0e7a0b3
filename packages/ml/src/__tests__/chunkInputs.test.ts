import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkEnd } from '../chunkInputs';
import type { JobInput } from '../jobTypes';

/** `n` inputs, `perSeries` to a series, in series order. */
function inputs(n: number, perSeries = n): JobInput[] {
  return Array.from({ length: n }, (_, i) => ({
    SOPInstanceUID: `2.25.${i}`,
    SeriesInstanceUID: `2.25.9${Math.floor(i / perSeries)}`,
    StudyInstanceUID: '2.25.8',
    object_key: `objects/${i}`,
    NumberOfFrames: 1,
  }));
}

/** Every chunk end from the first input on. */
function ends(
  all: JobInput[],
  every: number,
  bySeries: boolean,
  lastBatch?: number,
): number[] {
  const out: number[] = [];
  for (let at = 0; at < all.length;)
    out.push((at = chunkEnd(all, at, every, bySeries, lastBatch)));
  return out;
}

describe('chunkEnd', () => {
  it('cuts instances every `every`', () => {
    assert.deepEqual(ends(inputs(150), 64, false), [64, 128, 150]);
  });

  it('leaves the last batch of a job to a chunk of its own, on a batch boundary', () => {
    // 128 = 64 + 56 + 8; 150 = 64 + 64 + 16 + 6; 60 = 56 + 4; 8 stays one.
    assert.deepEqual(ends(inputs(128), 64, false, 8), [64, 120, 128]);
    assert.deepEqual(ends(inputs(150), 64, false, 8), [64, 128, 144, 150]);
    assert.deepEqual(ends(inputs(60), 64, false, 8), [56, 60]);
    assert.deepEqual(ends(inputs(8), 64, false, 8), [8]);
  });

  it('ends chunks of series on a series boundary, without a last batch apart', () => {
    // Series of 5: 4 -> 5, 9 -> 10, 14 -> 15, then the job's end.
    assert.deepEqual(ends(inputs(17, 5), 4, true, 8), [5, 10, 15, 17]);
  });
});
