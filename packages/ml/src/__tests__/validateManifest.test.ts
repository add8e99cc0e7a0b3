import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MlErrorCode } from '../MlError';
import { validateManifest } from '../validateManifest';

const good = {
  name: 'ct-brightness',
  version: '1.0.0',
  task: 'classification',
  inputs: [{ name: 'image', shape: ['N', 1, 32, 32], dtype: 'float32' }],
  preprocessing: {
    frames: 'each',
    rescale: true,
    window: { center: 40, width: 400 },
    resize: { rows: 32, columns: 32, method: 'bilinear' },
    normalize: { mean: [0], std: [1] },
    layout: 'NCHW',
  },
  outputs: [{ name: 'scores', labels: ['bright', 'dark'] }],
};

function problems(json: unknown): readonly string[] {
  try {
    validateManifest(json);
  } catch (err) {
    assert.equal((err as { code: string }).code, MlErrorCode.ManifestInvalid);
    return (err as { problems: string[] }).problems;
  }
  assert.fail('the manifest was accepted');
}

describe('validateManifest', () => {
  it('accepts a complete manifest and keeps its values', () => {
    const m = validateManifest(good);
    assert.equal(m.name, 'ct-brightness');
    assert.deepEqual(m.inputs[0].shape, ['N', 1, 32, 32]);
    assert.deepEqual(m.outputs[0]!.labels, ['bright', 'dark']);
  });

  it('names every mistake at once, with the value found', () => {
    const bad = {
      ...good,
      name: 'CT Brightness',
      task: 'detection',
      inputs: [{ name: 'image', shape: ['N', 1, 32, 0], dtype: 'float64' }],
      preprocessing: {
        ...good.preprocessing,
        window: { center: 40, width: -1 },
        layout: 'CHW',
      },
      outputs: [{ name: 'scores', labels: ['a', 'a'] }],
    };
    assert.deepEqual(problems(bad), [
      'name: must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, got "CT Brightness"',
      'task: must be one of classification, regression, segmentation, got "detection"',
      'inputs[0].dtype: must be "float32", got "float64"',
      'inputs[0].shape[3]: must be a positive integer, got 0',
      'preprocessing.window.width: must be a positive number, got -1',
      'preprocessing.layout: must be "NCHW" or "NHWC", got "CHW"',
      'outputs[0].labels: must not repeat a label, got ["a","a"]',
    ]);
  });

  it('reports missing fields as missing', () => {
    const { version: _v, preprocessing: _p, ...rest } = good;
    assert.deepEqual(problems(rest), [
      'version: must be a non-empty string (missing)',
      'preprocessing: must be an object (missing)',
    ]);
  });

  it('checks that resize, channels and normalisation fit the input', () => {
    const bad = {
      ...good,
      inputs: [{ name: 'image', shape: ['N', 2, 48, 32], dtype: 'float32' }],
      preprocessing: {
        ...good.preprocessing,
        normalize: { mean: [0, 0, 0], std: [1] },
      },
    };
    assert.deepEqual(problems(bad), [
      'preprocessing.resize: must match inputs[0].shape ["N",2,48,32] in NCHW (rows 48, columns 32), got "32x32"',
      'inputs[0].shape: must have 1 or 3 channels, got 2',
      'preprocessing.normalize.mean: must hold 1 value or one per channel (2), got [0,0,0]',
    ]);
  });
});
