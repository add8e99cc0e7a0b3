import { MlError, MlErrorCode } from './MlError';
import type {
  ModelManifest,
  ModelTask,
  OutputSpec,
  Preprocessing,
  TensorSpec,
} from './types';

type Json = Record<string, unknown>;

const TASKS: readonly ModelTask[] = [
  'classification',
  'regression',
  'segmentation',
];
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * What a value is, without the value: its type and size. A refusal that
 * leaves the machine (GraphQL addModel) says this instead of the value,
 * which could be any file's content (a folder's manifest.json may be a
 * copy of another file).
 */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'string')
    return v.length === 0
      ? 'an empty string'
      : `a string of ${v.length} character${v.length === 1 ? '' : 's'}`;
  if (Array.isArray(v))
    return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  const n = Object.keys(v as object).length;
  return `an object with ${n} field${n === 1 ? '' : 's'}`;
}

/** Levenshtein distance, for "did you mean" on a misspelt field. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        prev[j]! + 1,
        row[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length]!;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The fields each object of a manifest may hold. A field not listed is a
 * mistake: a misspelt optional field ("windw", "normalise") would
 * otherwise be dropped without a word and the model fed other inputs.
 */
const FIELDS = {
  manifest: [
    'name',
    'version',
    'task',
    'description',
    'inputs',
    'preprocessing',
    'outputs',
  ],
  input: ['name', 'shape', 'dtype'],
  output: ['name', 'labels'],
  preprocessing: [
    'frames',
    'rescale',
    'window',
    'resize',
    'normalize',
    'layout',
    'stack',
  ],
  window: ['center', 'width'],
  resize: ['rows', 'columns', 'method'],
  normalize: ['mean', 'std'],
  stack: ['by', 'slices'],
} as const;

/** Collects every problem rather than stopping at the first. */
class Problems {
  readonly list: string[] = [];
  constructor(
    readonly ignoreUnknown = false,
    readonly showValues = true,
  ) {}
  add(path: string, message: string, value?: unknown): void {
    const got =
      value === undefined
        ? ' (missing)'
        : `, got ${this.showValues ? show(value) : kind(value)}`;
    this.list.push(`${path}: ${message}${got}`);
  }
  /** `add` for a value checked already (dimensions, counts). */
  addChecked(path: string, message: string, value: unknown): void {
    this.list.push(`${path}: ${message}, got ${this.checked(value)}`);
  }
  /** A value checked already (a dimension, a count): shown either way. */
  checked(v: unknown): string {
    if (this.showValues) return show(v);
    return Array.isArray(v)
      ? `[${v.map((x) => (typeof x === 'number' ? x : 'a name')).join(',')}]`
      : typeof v === 'number'
        ? String(v)
        : kind(v);
  }
  /**
   * Names each field of `v` that `known` does not list; without values,
   * counts them instead (a field's name is the file's text too) and
   * suggests a field `known` lists that one of them is a misspelling of.
   */
  unknown(v: Json, path: string, known: readonly string[]): void {
    if (this.ignoreUnknown) return;
    const extra = Object.keys(v).filter((key) => !known.includes(key));
    const takes = `${path || 'the manifest'} takes ${known.join(', ')}`;
    if (this.showValues) {
      for (const key of extra)
        this.add(
          path ? `${path}.${key}` : key,
          `is not a manifest field (${takes})`,
          v[key],
        );
      return;
    }
    if (!extra.length) return;
    // A misspelling: at most a third of the field's letters changed.
    const near = (key: string, k: string) =>
      distance(key.toLowerCase(), k) <= Math.max(1, Math.floor(k.length / 3));
    const meant = known.filter((k) => extra.some((key) => near(key, k)));
    this.list.push(
      `${path || 'manifest'}: has ${extra.length === 1 ? '1 field that is not a manifest field' : `${extra.length} fields that are not manifest fields`} (${takes})${meant.length ? `; did you mean ${meant.join(' or ')}?` : ''}`,
    );
  }
}

function tensorSpec(v: unknown, path: string, p: Problems): void {
  if (!isObject(v)) return p.add(path, 'must be an object', v);
  p.unknown(v, path, FIELDS.input);
  if (typeof v.name !== 'string' || !v.name)
    p.add(`${path}.name`, 'must be a non-empty string', v.name);
  if (v.dtype !== 'float32')
    p.add(`${path}.dtype`, 'must be "float32"', v.dtype);
  if (!Array.isArray(v.shape) || v.shape.length !== 4) {
    p.add(`${path}.shape`, 'must list 4 dimensions (N, C, H, W)', v.shape);
    return;
  }
  v.shape.forEach((d: unknown, i) => {
    if (!isPositiveInt(d) && !(typeof d === 'string' && d && i === 0))
      p.add(
        `${path}.shape[${i}]`,
        i === 0
          ? 'must be a positive integer or a symbolic name'
          : 'must be a positive integer',
        d,
      );
  });
}

function outputSpec(v: unknown, path: string, p: Problems): void {
  if (!isObject(v)) return p.add(path, 'must be an object', v);
  p.unknown(v, path, FIELDS.output);
  if (typeof v.name !== 'string' || !v.name)
    p.add(`${path}.name`, 'must be a non-empty string', v.name);
  if (
    !Array.isArray(v.labels) ||
    v.labels.length === 0 ||
    !v.labels.every((l) => typeof l === 'string' && l.length > 0)
  )
    p.add(`${path}.labels`, 'must be a non-empty list of strings', v.labels);
  else if (new Set(v.labels).size !== v.labels.length)
    p.add(`${path}.labels`, 'must not repeat a label', v.labels);
}

function numberList(v: unknown, path: string, p: Problems, positive = false) {
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every((x) => isFiniteNumber(x) && (!positive || x > 0))
  )
    p.add(
      path,
      positive
        ? 'must be a non-empty list of positive numbers'
        : 'must be a non-empty list of numbers',
      v,
    );
}

function preprocessing(v: unknown, path: string, p: Problems): void {
  if (!isObject(v)) return p.add(path, 'must be an object', v);
  p.unknown(v, path, FIELDS.preprocessing);
  if (!['each', 'first', 'middle'].includes(v.frames as string))
    p.add(`${path}.frames`, 'must be "each", "first" or "middle"', v.frames);
  if (typeof v.rescale !== 'boolean')
    p.add(`${path}.rescale`, 'must be true or false', v.rescale);
  const w = v.window;
  if (w !== undefined && w !== 'dicom') {
    if (!isObject(w))
      p.add(`${path}.window`, 'must be {center, width} or "dicom"', w);
    else {
      p.unknown(w, `${path}.window`, FIELDS.window);
      if (!isFiniteNumber(w.center))
        p.add(`${path}.window.center`, 'must be a number', w.center);
      if (!isFiniteNumber(w.width) || w.width <= 0)
        p.add(`${path}.window.width`, 'must be a positive number', w.width);
    }
  }
  const r = v.resize;
  if (!isObject(r)) p.add(`${path}.resize`, 'must be an object', r);
  else {
    p.unknown(r, `${path}.resize`, FIELDS.resize);
    if (!isPositiveInt(r.rows))
      p.add(`${path}.resize.rows`, 'must be a positive integer', r.rows);
    if (!isPositiveInt(r.columns))
      p.add(`${path}.resize.columns`, 'must be a positive integer', r.columns);
    if (r.method !== 'bilinear' && r.method !== 'nearest')
      p.add(
        `${path}.resize.method`,
        'must be "bilinear" or "nearest"',
        r.method,
      );
  }
  const n = v.normalize;
  if (!isObject(n)) p.add(`${path}.normalize`, 'must be {mean, std}', n);
  else {
    p.unknown(n, `${path}.normalize`, FIELDS.normalize);
    numberList(n.mean, `${path}.normalize.mean`, p);
    numberList(n.std, `${path}.normalize.std`, p, true);
  }
  if (v.layout !== 'NCHW' && v.layout !== 'NHWC')
    p.add(`${path}.layout`, 'must be "NCHW" or "NHWC"', v.layout);
  const st = v.stack;
  if (st !== undefined) {
    if (!isObject(st)) p.add(`${path}.stack`, 'must be {by, slices}', st);
    else {
      p.unknown(st, `${path}.stack`, FIELDS.stack);
      if (st.by !== 'ImagePositionPatient')
        p.add(`${path}.stack.by`, 'must be "ImagePositionPatient"', st.by);
      if (!isPositiveInt(st.slices))
        p.add(`${path}.stack.slices`, 'must be a positive integer', st.slices);
    }
    if (v.frames !== 'first')
      p.add(`${path}.frames`, 'must be "first" when stacking', v.frames);
  }
}

/** Checks that shapes agree with the task, preprocessing and labels. */
function consistency(m: ModelManifest, p: Problems): void {
  const [input] = m.inputs;
  const pre = m.preprocessing;
  const nchw = pre.layout === 'NCHW';
  const [, a, b, c] = input.shape;
  const [channels, rows, columns] = nchw ? [a, b, c] : [c, a, b];
  if (rows !== pre.resize.rows || columns !== pre.resize.columns) {
    // Positive integers both, checked: shown either way.
    const size = `${pre.resize.rows}x${pre.resize.columns}`;
    p.list.push(
      `preprocessing.resize: must match inputs[0].shape ${p.checked(input.shape)} in ${pre.layout} (rows ${p.checked(rows)}, columns ${p.checked(columns)}), got ${p.showValues ? show(size) : size}`,
    );
  }
  const slices = pre.stack?.slices;
  if (slices !== undefined && channels !== slices)
    p.addChecked(
      'inputs[0].shape',
      `must have one channel per stacked slice (${slices})`,
      channels,
    );
  if (slices === undefined && channels !== 1 && channels !== 3)
    p.addChecked('inputs[0].shape', 'must have 1 or 3 channels', channels);
  for (const key of ['mean', 'std'] as const) {
    const len = pre.normalize[key].length;
    if (len !== 1 && len !== channels)
      p.add(
        `preprocessing.normalize.${key}`,
        `must hold 1 value or one per channel (${p.checked(channels)})`,
        pre.normalize[key],
      );
  }
  if (m.outputs.length !== 1)
    p.addChecked('outputs', 'must list exactly one output', m.outputs.length);
}

/**
 * Validates a parsed manifest.json and returns it typed.
 * @param json - the parsed file.
 * @param options - `ignoreUnknown`: pass over fields the manifest format
 * does not have (for manifests stored before they were refused).
 * `showValues` (default true): quote each wrong value found; false says
 * only its type and size, and counts unknown fields instead of naming
 * them, for a refusal that leaves the machine.
 * @returns the manifest.
 * @throws MlError MANIFEST_INVALID naming each mistake (in `problems`).
 */
export function validateManifest(
  json: unknown,
  options: { ignoreUnknown?: boolean; showValues?: boolean } = {},
): ModelManifest {
  const p = new Problems(options.ignoreUnknown, options.showValues ?? true);
  if (!isObject(json)) {
    p.add('manifest', 'must be a JSON object', json);
  } else {
    p.unknown(json, '', FIELDS.manifest);
    if (typeof json.name !== 'string' || !NAME.test(json.name))
      p.add(
        'name',
        'must be 1-64 of a-z 0-9 . _ - starting with a letter or digit',
        json.name,
      );
    if (typeof json.version !== 'string' || !json.version.trim())
      p.add('version', 'must be a non-empty string', json.version);
    if (!TASKS.includes(json.task as ModelTask))
      p.add('task', `must be one of ${TASKS.join(', ')}`, json.task);
    if (json.description !== undefined && typeof json.description !== 'string')
      p.add('description', 'must be a string', json.description);
    if (!Array.isArray(json.inputs) || json.inputs.length !== 1)
      p.add('inputs', 'must list exactly one input', json.inputs);
    else tensorSpec(json.inputs[0], 'inputs[0]', p);
    preprocessing(json.preprocessing, 'preprocessing', p);
    if (!Array.isArray(json.outputs) || json.outputs.length === 0)
      p.add('outputs', 'must list at least one output', json.outputs);
    else json.outputs.forEach((o, i) => outputSpec(o, `outputs[${i}]`, p));
    if (!p.list.length) {
      const m = json as unknown as ModelManifest;
      consistency(m, p);
    }
  }
  if (p.list.length)
    throw new MlError(
      MlErrorCode.ManifestInvalid,
      `invalid manifest: ${p.list.join('; ')}`,
      p.list,
    );
  const m = json as Json;
  return {
    name: m.name as string,
    version: m.version as string,
    task: m.task as ModelTask,
    ...(m.description === undefined
      ? {}
      : { description: m.description as string }),
    inputs: [(m.inputs as TensorSpec[])[0]!],
    preprocessing: m.preprocessing as Preprocessing,
    outputs: m.outputs as OutputSpec[],
  };
}
