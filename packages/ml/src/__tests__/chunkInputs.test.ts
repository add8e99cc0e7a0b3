import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkEnd, nextChunkSize } from '../chunkInputs';
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

describe('nextChunkSize', () => {
  const options = {
    min: 64,
    seconds: 5,
    batch: 8,
    maxInputs: 4096,
    maxMaskBytes: 64 << 20,
  };

  it('keeps the minimum for a model slower than it per commit interval', () => {
    // 32 images/s * 5 s = 160 -> 160; 10 images/s -> 50 -> 64.
    assert.equal(
      nextChunkSize({ inputs: 64, seconds: 2, maskBytes: 0 }, options),
      160,
    );
    assert.equal(
      nextChunkSize({ inputs: 64, seconds: 6.4, maskBytes: 0 }, options),
      64,
    );
  });

  it('grows for a fast model, in whole batches, up to the maximum', () => {
    // 64 in 0.3 s: 213.3/s * 5 = 1066.7 -> 1064 (133 batches of 8).
    assert.equal(
      nextChunkSize({ inputs: 64, seconds: 0.3, maskBytes: 0 }, options),
      1064,
    );
    assert.equal(
      nextChunkSize({ inputs: 64, seconds: 0.01, maskBytes: 0 }, options),
      4096,
    );
  });

  it("keeps a chunk's masks under the bound", () => {
    // 1 MiB of masks an input: 64 MiB holds 64.
    assert.equal(
      nextChunkSize(
        { inputs: 64, seconds: 0.01, maskBytes: 64 << 20 },
        options,
      ),
      64,
    );
    // 112 KiB an input (a 320x320 .npy and its SEG): 585.1 -> 584.
    assert.equal(
      nextChunkSize(
        { inputs: 10, seconds: 0.01, maskBytes: 10 * 112 * 1024 },
        options,
      ),
      584,
    );
  });
});
