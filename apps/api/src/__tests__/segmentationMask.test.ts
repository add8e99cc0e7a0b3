import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSegmentation } from '@lpacs/ml';
import { segmentationMask } from '../dicomweb/segmentationMask';
import { SOURCE_SOP, source } from './brainSlice';

/**
 * Two labels on a 2 x 2 grid, resampled (nearest) to 256 x 256 by the
 * writer: label 1 covers the top-left quadrant, label 2 the top-left and
 * bottom-right ones. Drawn with the lowest segment on top, the image frame
 * shows 1 top-left, 2 bottom-right, 0 elsewhere.
 */
const seg = encodeSegmentation({
  source,
  mask: Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 1]),
  maskRows: 2,
  maskColumns: 2,
  labels: ['a', 'b'],
  model: { name: 'm', version: '1', sha256: 'f'.repeat(64) },
  createdAt: new Date('2026-01-02T03:04:05Z'),
});

describe('segmentationMask', () => {
  it('draws each SEG frame that references the image with its segment number', () => {
    const mask = segmentationMask(seg, SOURCE_SOP, 1);
    assert.ok(mask);
    assert.deepEqual([mask.rows, mask.columns], [256, 256]);
    assert.deepEqual(mask.numbers, [1, 2]);
    const at = (r: number, c: number) => mask.segments[r * 256 + c];
    for (const [r, c, want] of [
      [0, 0, 1],
      [127, 127, 1],
      [0, 128, 0],
      [128, 0, 0],
      [128, 128, 2],
      [255, 255, 2],
    ] as const)
      assert.equal(at(r, c), want, `pixel ${r},${c}`);
    const counts = [0, 0, 0];
    for (const v of mask.segments) counts[v]!++;
    assert.deepEqual(counts, [2 * 128 * 128, 128 * 128, 128 * 128]);
  });

  it('finds nothing for another instance or another frame', () => {
    assert.equal(segmentationMask(seg, '1.2.3.4', 1), undefined);
    assert.equal(segmentationMask(seg, SOURCE_SOP, 2), undefined);
  });

  it('refuses what is not a segmentation', () => {
    assert.equal(segmentationMask(source, SOURCE_SOP, 1), undefined);
  });
});
