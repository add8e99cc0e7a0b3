import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { encodeSegmentation } from '@lpacs/ml';
import { decodeNpy } from '../dicomweb/decodeNpy';
import { npyMask } from '../dicomweb/npyMask';
import { segmentationMask } from '../dicomweb/segmentationMask';
import { SOURCE_SOP, source } from './brainSlice';

/** Two labels on a 2 x 3 grid: label 1 the top row, label 2 the first column. */
const LABELS = [
  [1, 1, 1, 0, 0, 0],
  [1, 0, 0, 1, 0, 0],
];

/** The same array written by numpy itself, as .npy format 1.0 or 2.0. */
function numpySaved(version: string): Buffer {
  const script = `
import io, sys, numpy as np
a = np.array(${JSON.stringify(LABELS)}, dtype=np.uint8).reshape(2, 2, 3)
f = io.BytesIO()
np.lib.format.write_array(f, a, version=(${version}))
sys.stdout.buffer.write(f.getvalue())
`;
  return execFileSync('/usr/bin/python3', ['-c', script]);
}

describe('decodeNpy', () => {
  it('reads what numpy writes, in format 1.0 and 2.0', () => {
    for (const version of ['1, 0', '2, 0']) {
      const array = decodeNpy(numpySaved(version));
      assert.ok(array, version);
      assert.deepEqual(array.shape, [2, 2, 3]);
      assert.deepEqual([...array.data], LABELS.flat());
    }
  });

  it('refuses another dtype, Fortran order or a short body', () => {
    const wide = execFileSync('/usr/bin/python3', [
      '-c',
      'import io,sys,numpy as np\nf=io.BytesIO()\nnp.save(f, np.zeros((1,2,2), dtype=np.float32))\nsys.stdout.buffer.write(f.getvalue())',
    ]);
    assert.equal(decodeNpy(wide), undefined);
    const fortran = execFileSync('/usr/bin/python3', [
      '-c',
      'import io,sys,numpy as np\nf=io.BytesIO()\nnp.save(f, np.asfortranarray(np.zeros((1,2,3), dtype=np.uint8)))\nsys.stdout.buffer.write(f.getvalue())',
    ]);
    assert.equal(decodeNpy(fortran), undefined);
    const whole = numpySaved('1, 0');
    assert.equal(decodeNpy(whole.subarray(0, whole.length - 1)), undefined);
  });
});

describe('npyMask', () => {
  it('resamples nearest to the image, the lowest segment on top', () => {
    // 2 x 3 onto 4 x 6: each mask pixel becomes a 2 x 2 block. Label 1
    // (segment 1) covers rows 0-1; label 2 adds rows 2-3, columns 0-1.
    const mask = npyMask(numpySaved('1, 0'), 4, 6);
    assert.ok(mask);
    assert.deepEqual(mask.numbers, [1, 2]);
    assert.deepEqual(
      [...mask.segments],
      [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1],
        [2, 2, 0, 0, 0, 0],
        [2, 2, 0, 0, 0, 0],
      ].flat(),
    );
  });

  it('draws the same frame as the SEG the job writes from that mask', () => {
    const seg = encodeSegmentation({
      source,
      mask: Uint8Array.from(LABELS.flat()),
      maskRows: 2,
      maskColumns: 3,
      labels: ['a', 'b'],
      model: { name: 'm', version: '1', sha256: 'f'.repeat(64) },
      createdAt: new Date('2026-01-02T03:04:05Z'),
    });
    const fromSeg = segmentationMask(seg, SOURCE_SOP, 1);
    const fromNpy = npyMask(numpySaved('1, 0'), 256, 256);
    assert.ok(fromSeg && fromNpy);
    // Compared as buffers: a diff of 65536 values would take minutes.
    const differ = fromNpy.segments.filter(
      (v, p) => v !== fromSeg.segments[p],
    ).length;
    assert.equal(differ, 0, `${differ} pixels differ from the SEG's`);
    // 256 / 3 is not whole: column c samples mask column
    // floor((c + 0.5) * 3 / 256), which is 0 up to c = 84 (84.5 * 3 < 256).
    assert.equal(fromNpy.segments[255 * 256 + 84], 2);
    assert.equal(fromNpy.segments[255 * 256 + 85], 0);
  });

  it('refuses what is not a 3-D mask', () => {
    assert.equal(npyMask(source, 4, 4), undefined);
  });
});
