import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, Lake, newBatchId } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { framesOf } from '../framesOf';
import { PredictionJobs } from '../PredictionJobs';
import { preprocessFrame } from '../preprocessFrame';
import type { DecodedFrame, Preprocessing } from '../types';
import { makeModels, python } from './helpers';

const work = mkdtempSync(join(tmpdir(), 'lpacs-ml-frames-'));
let models: string;

// A 3-frame 64x64 CT-like image (values differ per frame) written with
// pydicom; numpy gives each frame's expected ct-brightness scores.
const MAKE = `
import sys, json, numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\\0' * 128
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.Modality = 'CT'; ds.Rows = ds.Columns = 64; ds.NumberOfFrames = 3
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'
ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15
ds.PixelRepresentation = 0; ds.RescaleSlope = '1'; ds.RescaleIntercept = '-1024'
y, x = np.mgrid[0:64, 0:64]
frames = np.stack([(x * 10 + y * (f + 1) * 7 + f * 300) % 1600 for f in range(3)])
ds.PixelData = frames.astype('<u2').tobytes()
ds.save_as(out, write_like_original=False)
hu = frames.astype(np.float64) - 1024
w = np.clip((hu - (40 - 200)) / 400, 0, 1)
m = w.reshape(3, 32, 2, 32, 2).mean(axis=(2, 4)).mean(axis=(1, 2))
s = 1 / (1 + np.exp(-(8 * m - 2)))
print(json.dumps(s.tolist()))
`;

before(() => {
  models = makeModels();
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe('frames and channels', () => {
  it('predicts each frame of a multi-frame instance', async () => {
    const path = join(work, 'frames3.dcm');
    const expected = JSON.parse(python(['-c', MAKE, path])) as number[];
    assert.ok(Math.abs(expected[0]! - expected[2]!) > 0.05);
    const lake = join(work, 'lake');
    const l = await Lake.open(lake);
    const bytes = readFileSync(path);
    await l.commitBatch(newBatchId(), {
      instances: [
        {
          SOPInstanceUID: '2.25.1',
          SeriesInstanceUID: '2.25.2',
          StudyInstanceUID: '2.25.3',
          Modality: 'CT',
          Rows: 64,
          Columns: 64,
          NumberOfFrames: 3,
          object_key: l.putObjectSync(
            bytes,
            createHash('sha256').update(bytes).digest('hex'),
          ),
        },
      ],
    });
    l.close();
    const jobs = new PredictionJobs({ lakeRoot: lake, decodeFrame });
    try {
      await jobs.registry.add(join(models, 'ct-brightness'));
      const job = await jobs.run((await jobs.create('ct-brightness', {})).id);
      assert.equal(job.progress.predicted, 1);
      const catalog = await Catalog.open(lake, { threads: 1 });
      const rows = await catalog.query(
        `SELECT frame_index, score FROM predictions WHERE label = 'bright'
         ORDER BY frame_index`,
      );
      await catalog.close();
      assert.deepEqual(
        rows.map((r) => r.frame_index),
        [0, 1, 2],
      );
      rows.forEach((r, i) =>
        assert.ok(Math.abs(Number(r.score) - expected[i]!) < 1e-5, `${i}`),
      );
    } finally {
      await jobs.close();
    }
  });

  it('picks the first or middle frame', () => {
    assert.deepEqual(framesOf('first', 5), [0]);
    assert.deepEqual(framesOf('middle', 5), [2]);
    assert.deepEqual(framesOf('middle', 4), [2]);
    assert.deepEqual(framesOf('each', 3), [0, 1, 2]);
  });

  it('keeps RGB channels apart, windows, shrinks and normalises each', () => {
    // 2x2 RGB, interleaved; a 2x2 -> 1x1 bilinear shrink is the mean.
    const rgb = [10, 20, 30, 50, 60, 70, 90, 100, 110, 130, 140, 150];
    const frame: DecodedFrame = {
      rows: 2,
      columns: 2,
      samplesPerPixel: 3,
      photometricInterpretation: 'RGB',
      numberOfFrames: 1,
      bitsStored: 8,
      pixelRepresentation: 0,
      stored: Int32Array.from(rgb),
      modality: Float32Array.from(rgb),
    };
    const pre: Preprocessing = {
      frames: 'first',
      rescale: false,
      window: { center: 100, width: 200 },
      resize: { rows: 1, columns: 1, method: 'bilinear' },
      normalize: { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] },
      layout: 'NHWC',
    };
    const out = preprocessFrame(frame, pre, 3);
    // Channel means 70, 80, 90 -> window (v - 0) / 200 -> 0.35, 0.4, 0.45.
    const want = [(0.35 - 0.1) / 0.5, (0.4 - 0.2) / 0.25, (0.45 - 0.3) / 2];
    assert.equal(out.length, 3);
    want.forEach((w, i) => assert.ok(Math.abs(out[i]! - w) < 1e-6, `${i}`));
  });

  it('inverts MONOCHROME1 after windowing', () => {
    const frame: DecodedFrame = {
      rows: 1,
      columns: 2,
      samplesPerPixel: 1,
      photometricInterpretation: 'MONOCHROME1',
      numberOfFrames: 1,
      bitsStored: 16,
      pixelRepresentation: 0,
      stored: Int32Array.from([0, 300]),
      modality: Float32Array.from([0, 300]),
    };
    const out = preprocessFrame(
      frame,
      {
        frames: 'first',
        rescale: true,
        window: { center: 200, width: 400 },
        resize: { rows: 1, columns: 2, method: 'nearest' },
        normalize: { mean: [0], std: [1] },
        layout: 'NCHW',
      },
      1,
    );
    // Windowed 0 -> 0 and 300 -> 0.75, inverted: 1 and 0.25.
    assert.deepEqual([...out], [1, 0.25]);
  });
});
