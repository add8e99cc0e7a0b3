import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MASK_NAMES_IN_THE_CLEAR } from '@lpacs/lake';
import { InFlightLimit } from '../InFlightLimit';
import type { JobInput } from '../jobTypes';
import type { OnnxModel } from '../OnnxModel';
import type { FrameWork } from '../FrameWork';
import { imageOutcome } from '../imageOutcome';
import { predictChunk } from '../predictChunk';
import type { RegisteredModel } from '../types';
import { validateManifest } from '../validateManifest';

const manifest = validateManifest({
  name: 'fake',
  version: '1',
  task: 'classification',
  inputs: [{ name: 'image', shape: ['N', 1, 2, 2], dtype: 'float32' }],
  preprocessing: {
    frames: 'first',
    rescale: false,
    resize: { rows: 2, columns: 2, method: 'nearest' },
    normalize: { mean: [0], std: [1] },
    layout: 'NCHW',
  },
  outputs: [{ name: 'scores', labels: ['yes'] }],
});
const registered: RegisteredModel = {
  sha256: 'f'.repeat(64),
  manifest,
  dir: '/nonexistent',
  addedAt: '2026-01-01T00:00:00Z',
};

/**
 * A model whose runs end when the test says: each run is recorded with
 * the score every image of it gets, and `end(k)` finishes run k.
 */
function heldModel() {
  const runs: Array<{ images: Float32Array[]; end: () => void }> = [];
  const model = {
    manifest,
    maxBatch: 2,
    capacity: 2,
    channels: 1,
    run: (images: readonly Float32Array[]) =>
      new Promise((resolve) =>
        runs.push({
          images: [...images],
          end: () =>
            resolve({
              values: images.map((img) => Float32Array.of(img[0]!)),
              dims: [1],
            }),
        }),
      ),
  } as unknown as OnnxModel;
  return { model, runs };
}

function inputs(prefix: string, n: number): JobInput[] {
  return Array.from({ length: n }, (_, i) => ({
    SOPInstanceUID: `${prefix}.${i}`,
    SeriesInstanceUID: '2.25.1',
    StudyInstanceUID: '2.25.2',
    object_key: `objects/${prefix}-${i}`,
    NumberOfFrames: 1,
  }));
}

/**
 * Frames whose one value is their input's number (the end of its key), so
 * rows show which image they came from; `prepared` lists the inputs
 * prepared, in order.
 */
function numbered(finish?: FrameWork['finish']) {
  const prepared: number[] = [];
  const work: FrameWork = {
    prepare: async (input, frames) => {
      const n = Number(input.object_key.split('-').pop());
      prepared.push(n);
      return frames.map(() => Float32Array.of(n));
    },
    finish:
      finish ??
      (async (ctx, images, values) =>
        images.map((img, i) => imageOutcome(ctx, img.target, values[i]!))),
    // Single-frame inputs only: no multi-frame SEG is asked for.
    segment: async () => undefined,
  };
  return { work, prepared };
}

/** Lets reads, preparations and sends that can go on, go on. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await turn();
}

describe('chunks sharing a model', () => {
  it("sends the next chunk's first batch before the last batch of the one before ends", async () => {
    const { model, runs } = heldModel();
    const slots = new InFlightLimit(model.capacity);
    const { work } = numbered();
    let startB = () => {};
    const aSent = new Promise<void>((r) => (startB = r));
    const a = predictChunk(
      registered,
      model,
      'run',
      inputs('2.25.10', 4),
      work,
      MASK_NAMES_IN_THE_CLEAR,
      false,
      { slots, onSent: startB },
    );
    await aSent;
    // Both of A's batches are sent and neither has ended.
    assert.equal(runs.length, 2);
    const b = predictChunk(
      registered,
      model,
      'run',
      inputs('2.25.20', 2),
      work,
      MASK_NAMES_IN_THE_CLEAR,
      false,
      { slots },
    );
    await settle();
    assert.equal(runs.length, 2, 'B waits for room while two batches run');
    runs[0]!.end();
    await settle();
    assert.equal(runs.length, 3, "B's batch is sent while A's last runs");
    runs[1]!.end();
    runs[2]!.end();
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual(
      ra.rows.map((r) => [r.SOPInstanceUID, r.score]),
      [
        ['2.25.10.0', 0],
        ['2.25.10.1', 1],
        ['2.25.10.2', 2],
        ['2.25.10.3', 3],
      ],
    );
    assert.deepEqual(
      rb.rows.map((r) => [r.SOPInstanceUID, r.score]),
      [
        ['2.25.20.0', 0],
        ['2.25.20.1', 1],
      ],
    );
    assert.deepEqual(rb.predicted, ['2.25.20.0', '2.25.20.1']);
  });

  it('reads and prepares up to a batch of inputs ahead while it waits for room', async () => {
    const { model, runs } = heldModel();
    const { work, prepared } = numbered();
    const chunk = predictChunk(
      registered,
      model,
      'run',
      inputs('2.25.30', 10),
      work,
      MASK_NAMES_IN_THE_CLEAR,
    );
    await settle();
    // Batches 0-1 and 2-3 are sent; 4-5 waits for room; 6 and 7 are a
    // batch ahead of the input awaited (5), and nothing further.
    assert.equal(runs.length, 2);
    assert.deepEqual(prepared, [0, 1, 2, 3, 4, 5, 6, 7]);
    for (let k = 0; k < 5; k++) {
      runs[k]!.end();
      await settle();
    }
    const r = await chunk;
    assert.equal(r.rows.length, 10);
  });

  it('tries a batch whose outputs fail again image by image, keeping each row once', async () => {
    const { model, runs } = heldModel();
    let calls = 0;
    // The first image's outcome is made, then the batch fails.
    const { work } = numbered(async (ctx, images, values) => {
      const out = [imageOutcome(ctx, images[0]!.target, values[0]!)];
      if (++calls === 1) throw new Error('lost the second');
      if (images[1]) out.push(imageOutcome(ctx, images[1].target, values[1]!));
      return out;
    });
    const chunk = predictChunk(
      registered,
      model,
      'run',
      inputs('2.25.40', 2),
      work,
      MASK_NAMES_IN_THE_CLEAR,
    );
    for (let k = 0; k < 3; k++) {
      await settle();
      runs[k]!.end();
    }
    const r = await chunk;
    assert.equal(runs.length, 3, 'the batch, then each image alone');
    assert.deepEqual(
      r.rows.map((row) => [row.SOPInstanceUID, row.score]),
      [
        ['2.25.40.0', 0],
        ['2.25.40.1', 1],
      ],
    );
    assert.deepEqual(r.failures, []);
  });
});
