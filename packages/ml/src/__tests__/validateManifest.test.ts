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

/** `good` with `path` (dot separated, numbers index arrays) set to `value`, or removed when `value` is undefined. */
function changed(path: string, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
  const keys = path.split('.');
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

const PRE_FIELDS = 'frames, rescale, window, resize, normalize, layout, stack';

describe('validateManifest, one mistake at a time', () => {
  // Each case changes one field of a good manifest and expects exactly one
  // problem, naming that field and the value found.
  const cases: Array<[string, unknown, string | string[]]> = [
    [
      'name',
      '',
      'name: must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, got ""',
    ],
    [
      'name',
      'x'.repeat(65),
      `name: must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, got "${'x'.repeat(39)}...`,
    ],
    ['version', '  ', 'version: must be a non-empty string, got "  "'],
    ['version', 1, 'version: must be a non-empty string, got 1'],
    [
      'task',
      undefined,
      'task: must be one of classification, regression, segmentation (missing)',
    ],
    ['description', 7, 'description: must be a string, got 7'],
    ['inputs', [], 'inputs: must list exactly one input, got []'],
    ['inputs', 'image', 'inputs: must list exactly one input, got "image"'],
    ['inputs.0', null, 'inputs[0]: must be an object, got null'],
    ['inputs.0.name', '', 'inputs[0].name: must be a non-empty string, got ""'],
    [
      'inputs.0.shape',
      [1, 32, 32],
      'inputs[0].shape: must list 4 dimensions (N, C, H, W), got [1,32,32]',
    ],
    [
      'inputs.0.shape',
      ['N', 'C', 32, 32],
      'inputs[0].shape[1]: must be a positive integer, got "C"',
    ],
    [
      'inputs.0.shape',
      [0, 1, 32, 32],
      'inputs[0].shape[0]: must be a positive integer or a symbolic name, got 0',
    ],
    [
      'inputs.0.type',
      'float32',
      'inputs[0].type: is not a manifest field (inputs[0] takes name, shape, dtype), got "float32"',
    ],
    [
      'preprocessing',
      'default',
      'preprocessing: must be an object, got "default"',
    ],
    [
      'preprocessing.frames',
      'all',
      'preprocessing.frames: must be "each", "first" or "middle", got "all"',
    ],
    [
      'preprocessing.rescale',
      'yes',
      'preprocessing.rescale: must be true or false, got "yes"',
    ],
    [
      'preprocessing.window',
      'auto',
      'preprocessing.window: must be {center, width} or "dicom", got "auto"',
    ],
    [
      'preprocessing.window.center',
      '40',
      'preprocessing.window.center: must be a number, got "40"',
    ],
    [
      'preprocessing.window.width',
      0,
      'preprocessing.window.width: must be a positive number, got 0',
    ],
    [
      'preprocessing.window.level',
      40,
      'preprocessing.window.level: is not a manifest field (preprocessing.window takes center, width), got 40',
    ],
    [
      'preprocessing.windw',
      { center: 40, width: 400 },
      `preprocessing.windw: is not a manifest field (preprocessing takes ${PRE_FIELDS}), got {"center":40,"width":400}`,
    ],
    [
      'preprocessing.resize',
      undefined,
      'preprocessing.resize: must be an object (missing)',
    ],
    [
      'preprocessing.resize.rows',
      0,
      'preprocessing.resize.rows: must be a positive integer, got 0',
    ],
    [
      'preprocessing.resize.columns',
      31.5,
      'preprocessing.resize.columns: must be a positive integer, got 31.5',
    ],
    [
      'preprocessing.resize.method',
      'bicubic',
      'preprocessing.resize.method: must be "bilinear" or "nearest", got "bicubic"',
    ],
    [
      'preprocessing.resize.antialias',
      true,
      'preprocessing.resize.antialias: is not a manifest field (preprocessing.resize takes rows, columns, method), got true',
    ],
    [
      'preprocessing.normalize',
      undefined,
      'preprocessing.normalize: must be {mean, std} (missing)',
    ],
    [
      'preprocessing.normalize.mean',
      [],
      'preprocessing.normalize.mean: must be a non-empty list of numbers, got []',
    ],
    [
      'preprocessing.normalize.std',
      [0],
      'preprocessing.normalize.std: must be a non-empty list of positive numbers, got [0]',
    ],
    [
      'preprocessing.normalize.variance',
      [1],
      'preprocessing.normalize.variance: is not a manifest field (preprocessing.normalize takes mean, std), got [1]',
    ],
    [
      'preprocessing.layout',
      'CHW',
      'preprocessing.layout: must be "NCHW" or "NHWC", got "CHW"',
    ],
    [
      'preprocessing.stack',
      4,
      'preprocessing.stack: must be {by, slices}, got 4',
    ],
    [
      'preprocessing.stack',
      { by: 'SliceLocation', slices: 1 },
      'preprocessing.stack.by: must be "ImagePositionPatient", got "SliceLocation"',
    ],
    [
      'preprocessing.stack',
      { by: 'ImagePositionPatient', slices: 0 },
      'preprocessing.stack.slices: must be a positive integer, got 0',
    ],
    [
      'preprocessing.stack',
      { by: 'ImagePositionPatient', slices: 1, order: 'desc' },
      'preprocessing.stack.order: is not a manifest field (preprocessing.stack takes by, slices), got "desc"',
    ],
    ['outputs', [], 'outputs: must list at least one output, got []'],
    ['outputs.0', 'scores', 'outputs[0]: must be an object, got "scores"'],
    [
      'outputs.0.name',
      undefined,
      'outputs[0].name: must be a non-empty string (missing)',
    ],
    [
      'outputs.0.labels',
      [],
      'outputs[0].labels: must be a non-empty list of strings, got []',
    ],
    [
      'outputs.0.labels',
      ['bright', ''],
      'outputs[0].labels: must be a non-empty list of strings, got ["bright",""]',
    ],
    [
      'outputs.0.classes',
      2,
      'outputs[0].classes: is not a manifest field (outputs[0] takes name, labels), got 2',
    ],
    [
      'labels',
      ['bright', 'dark'],
      'labels: is not a manifest field (the manifest takes name, version, task, description, inputs, preprocessing, outputs), got ["bright","dark"]',
    ],
    // Fields right alone but not together.
    [
      'preprocessing.resize.rows',
      48,
      'preprocessing.resize: must match inputs[0].shape ["N",1,32,32] in NCHW (rows 32, columns 32), got "48x32"',
    ],
    [
      'preprocessing.layout',
      'NHWC',
      // Read as NHWC, [N, 1, 32, 32] is 1 row of 32 columns in 32 channels.
      [
        'preprocessing.resize: must match inputs[0].shape ["N",1,32,32] in NHWC (rows 1, columns 32), got "32x32"',
        'inputs[0].shape: must have 1 or 3 channels, got 32',
      ],
    ],
    [
      'preprocessing.normalize.std',
      [1, 1],
      'preprocessing.normalize.std: must hold 1 value or one per channel (1), got [1,1]',
    ],
    [
      'outputs',
      [
        { name: 'a', labels: ['x'] },
        { name: 'b', labels: ['y'] },
      ],
      'outputs: must list exactly one output, got 2',
    ],
  ];
  for (const [path, value, expected] of cases)
    it(`${path} = ${JSON.stringify(value) ?? 'missing'}`, () => {
      const json = changed(path, value) as typeof good;
      // Stacking needs frames "first"; set so for the stack cases.
      if (path === 'preprocessing.stack') json.preprocessing.frames = 'first';
      assert.deepEqual(
        problems(json),
        Array.isArray(expected) ? expected : [expected],
      );
    });

  it('refuses stacking over frames other than the first, and a channel count other than the slices', () => {
    const stacked = changed('preprocessing.stack', {
      by: 'ImagePositionPatient',
      slices: 4,
    }) as typeof good;
    assert.deepEqual(problems(stacked), [
      'preprocessing.frames: must be "first" when stacking, got "each"',
    ]);
    stacked.preprocessing.frames = 'first';
    assert.deepEqual(problems(stacked), [
      'inputs[0].shape: must have one channel per stacked slice (4), got 1',
    ]);
    stacked.inputs[0]!.shape[1] = 4;
    assert.equal(validateManifest(stacked).preprocessing.stack?.slices, 4);
  });

  it('refuses something other than a JSON object', () => {
    assert.deepEqual(problems([good]), [
      // Values are shown up to 40 characters of their JSON.
      `manifest: must be a JSON object, got ${JSON.stringify([good]).slice(0, 40)}...`,
    ]);
    assert.deepEqual(problems(null), [
      'manifest: must be a JSON object, got null',
    ]);
  });

  it('passes over unknown fields of a stored manifest when asked', () => {
    const extra = changed('preprocessing.windw', 1);
    assert.equal(
      validateManifest(extra, { ignoreUnknown: true }).name,
      'ct-brightness',
    );
  });
});

/** The problems found with values hidden (showValues false). */
function hidden(json: unknown): readonly string[] {
  try {
    validateManifest(json, { showValues: false });
  } catch (err) {
    assert.equal((err as { code: string }).code, MlErrorCode.ManifestInvalid);
    return (err as { problems: string[] }).problems;
  }
  assert.fail('the manifest was accepted');
}

describe('validateManifest without values (showValues false)', () => {
  it("says each wrong value's type and size, never the value", () => {
    const bad = {
      ...good,
      name: 'CT Brightness',
      task: 'detection',
      version: '',
      inputs: [{ name: 'image', shape: ['N', 1, 32, 0], dtype: 3 }],
      outputs: [{ name: 'scores', labels: ['a', 'a'] }],
    };
    assert.deepEqual(hidden(bad), [
      'name: must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, got a string of 13 characters',
      'version: must be a non-empty string, got an empty string',
      'task: must be one of classification, regression, segmentation, got a string of 9 characters',
      'inputs[0].dtype: must be "float32", got a number',
      'inputs[0].shape[3]: must be a positive integer, got a number',
      'outputs[0].labels: must not repeat a label, got a list of 2 items',
    ]);
  });

  it('counts unknown fields instead of naming them, and suggests the field a misspelling meant', () => {
    assert.deepEqual(hidden(changed('preprocessing.windw', 1)), [
      `preprocessing: has 1 field that is not a manifest field (preprocessing takes ${PRE_FIELDS}); did you mean window?`,
    ]);
  });

  it('shows checked dimensions, not a symbolic batch name', () => {
    const bad = {
      ...good,
      inputs: [
        { name: 'image', shape: ['batch', 2, 48, 32], dtype: 'float32' },
      ],
    };
    assert.deepEqual(hidden(bad), [
      'preprocessing.resize: must match inputs[0].shape [a name,2,48,32] in NCHW (rows 48, columns 32), got 32x32',
      'inputs[0].shape: must have 1 or 3 channels, got 2',
    ]);
  });

  it('quotes none of the strings of a file that is not a manifest (a data set truth file)', () => {
    // A copy of a data set's truth.json in place of a manifest: keys and
    // values that must not leave the machine.
    const planted = [
      'patients',
      'datasets/generate-ct.mjs',
      'DOE^JANE',
      '1.2.826.0.1.3680043.8.498.1',
      'seed',
    ];
    const truth = {
      patients: 3,
      generator: 'datasets/generate-ct.mjs',
      names: ['DOE^JANE'],
      name: 'DOE^JANE',
      version: { seed: 7 },
      task: '1.2.826.0.1.3680043.8.498.1',
    };
    const found = hidden(truth);
    const text = found.join('\n');
    for (const s of planted) assert.ok(!text.includes(s), `${s} in ${text}`);
    assert.deepEqual(found, [
      // "names" is one letter from "name".
      'manifest: has 3 fields that are not manifest fields (the manifest takes name, version, task, description, inputs, preprocessing, outputs); did you mean name?',
      'name: must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, got a string of 8 characters',
      'version: must be a non-empty string, got an object with 1 field',
      'task: must be one of classification, regression, segmentation, got a string of 27 characters',
      'inputs: must list exactly one input (missing)',
      'preprocessing: must be an object (missing)',
      'outputs: must list at least one output (missing)',
    ]);
    // The same file when values may be shown names them.
    assert.match(problems(truth).join('\n'), /DOE\^JANE/);
  });

  it('refuses something other than an object by its type', () => {
    assert.deepEqual(hidden(['root:x:0:0']), [
      'manifest: must be a JSON object, got a list of 1 item',
    ]);
    assert.deepEqual(hidden('root:x:0:0'), [
      'manifest: must be a JSON object, got a string of 10 characters',
    ]);
  });
});
