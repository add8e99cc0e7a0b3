import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MlError, MlErrorCode } from '../MlError';
import { MAX_MANIFEST_BYTES, ModelRegistry } from '../ModelRegistry';
import { makeModels } from './helpers';

const tmp = mkdtempSync(join(tmpdir(), 'lpacs-registry-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = {
  name: 'ct-brightness',
  version: '1.0.0',
  task: 'classification',
  inputs: [{ name: 'image', shape: ['N', 1, 32, 32], dtype: 'float32' }],
  preprocessing: {
    frames: 'each',
    rescale: true,
    resize: { rows: 32, columns: 32, method: 'bilinear' },
    normalize: { mean: [0], std: [1] },
    layout: 'NCHW',
  },
  outputs: [{ name: 'scores', labels: ['bright', 'dark'] }],
};

let n = 0;
/** A model folder holding `files` (a string: a regular file's text). */
function folder(files: Record<string, string | { link: string }>): string {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  for (const [name, f] of Object.entries(files))
    if (typeof f === 'string') writeFileSync(join(dir, name), f);
    else symlinkSync(f.link, join(dir, name));
  return dir;
}

/** The refusal of `dir`, as addModel gets it (values not shown). */
async function refusal(dir: string, showValues = false): Promise<MlError> {
  const registry = new ModelRegistry(join(tmp, 'lake'));
  try {
    await registry.add(dir, { showValues });
  } catch (err) {
    assert.ok(err instanceof MlError, String(err));
    return err;
  }
  assert.fail('the folder was stored');
}

describe("the registry reads a model folder's own regular files only", () => {
  const passwd = readFileSync('/etc/passwd', 'utf8');

  it('refuses manifest.json that is a symbolic link (to /etc/passwd) without reading it', async () => {
    const dir = folder({ 'manifest.json': { link: '/etc/passwd' } });
    const err = await refusal(dir);
    assert.equal(err.code, MlErrorCode.ManifestInvalid);
    assert.equal(
      err.message,
      `${join(dir, 'manifest.json')} is a symbolic link: lpacs reads only regular files in a model folder (copy the file there)`,
    );
    // A link inside the folder too: the rule is any link.
    const inside = folder({
      'real.json': JSON.stringify(manifest),
      'manifest.json': { link: 'real.json' },
    });
    assert.match((await refusal(inside)).message, /is a symbolic link/);
  });

  it('names a copy of /etc/passwd as not JSON by line and column, quoting none of it', async () => {
    const dir = folder({ 'manifest.json': passwd });
    const err = await refusal(dir);
    assert.equal(
      err.message,
      `${join(dir, 'manifest.json')} is not valid JSON (line 1, column 1)`,
    );
    // JSON.parse's own message quotes the start: "root:x:0:0"...
    assert.ok(!err.message.includes(passwd.slice(0, 10)));
  });

  it('places a syntax mistake by line and column', async () => {
    const text = JSON.stringify(manifest, null, 2).replace(
      '"task": "classification",',
      '"task": "classification"',
    );
    // The line after "task", where the comma is missing, column 3 (two
    // spaces of indent, then the next key).
    const line = text.split('\n').findIndex((l) => l.includes('"task"')) + 2;
    const err = await refusal(folder({ 'manifest.json': text }));
    assert.match(
      err.message,
      new RegExp(`is not valid JSON \\(line ${line}, column 3\\)$`),
    );
  });

  it('refuses a manifest over MAX_MANIFEST_BYTES before reading it', async () => {
    const big = JSON.stringify({
      ...manifest,
      description: 'x'.repeat(MAX_MANIFEST_BYTES),
    });
    const err = await refusal(folder({ 'manifest.json': big }));
    assert.equal(MAX_MANIFEST_BYTES, 1048576);
    assert.match(
      err.message,
      new RegExp(
        `manifest\\.json is ${Buffer.byteLength(big)} bytes; a manifest is at most 1048576 bytes$`,
      ),
    );
  });

  it('refuses model.onnx that is missing, a symbolic link, or not a file as MODEL_INVALID (trial: a folder without model.onnx was MANIFEST_INVALID)', async () => {
    const link = folder({
      'manifest.json': JSON.stringify(manifest),
      'model.onnx': { link: '/etc/passwd' },
    });
    const linked = await refusal(link);
    assert.equal(linked.code, MlErrorCode.ModelInvalid);
    assert.match(linked.message, /model\.onnx is a symbolic link/);
    const dir = folder({ 'manifest.json': JSON.stringify(manifest) });
    const missing = await refusal(dir);
    assert.equal(missing.code, MlErrorCode.ModelInvalid);
    assert.equal(
      missing.message,
      `${join(dir, 'model.onnx')} cannot be read (ENOENT)`,
    );
    mkdirSync(join(dir, 'model.onnx'));
    const notFile = await refusal(dir);
    assert.equal(notFile.code, MlErrorCode.ModelInvalid);
    assert.match(notFile.message, /model\.onnx is not a regular file$/);
  });

  it('reads a manifest that starts with a UTF-8 byte-order mark, storing the text after it (trial: "not valid JSON (line 1, column 1)")', async () => {
    const models = makeModels();
    try {
      const src = join(models, 'ct-brightness');
      const text = readFileSync(join(src, 'manifest.json'));
      const dir = folder({});
      writeFileSync(
        join(dir, 'manifest.json'),
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]),
      );
      writeFileSync(
        join(dir, 'model.onnx'),
        readFileSync(join(src, 'model.onnx')),
      );
      const registry = new ModelRegistry(join(tmp, 'bom-lake'));
      const added = await registry.add(dir);
      assert.equal(added.alreadyStored, false);
      assert.deepEqual(added.manifest, JSON.parse(text.toString('utf8')));
      // What is stored starts with the JSON itself.
      assert.deepEqual(readFileSync(join(added.dir, 'manifest.json')), text);
      // The same folder without the mark is the same model and manifest.
      const plain = await registry.add(src);
      assert.equal(plain.alreadyStored, true);
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });

  it('quotes values on the command line (showValues), not otherwise', async () => {
    const dir = folder({
      'manifest.json': JSON.stringify({ ...manifest, task: 'DOE^JANE' }),
    });
    assert.deepEqual((await refusal(dir)).problems, [
      'task: must be one of classification, regression, segmentation, got a string of 8 characters',
    ]);
    assert.deepEqual((await refusal(dir, true)).problems, [
      'task: must be one of classification, regression, segmentation, got "DOE^JANE"',
    ]);
  });
});
