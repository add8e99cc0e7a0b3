import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { LakeLayout, fsyncPath, silentLogger } from '@lpacs/lake';
import type { Logger } from '@lpacs/lake';
import { MlError, MlErrorCode } from './MlError';
import { OnnxModel } from './OnnxModel';
import type {
  AddedModel,
  ModelManifest,
  RegisteredModel,
  SessionOptions,
} from './types';
import { jsonErrorAt } from './jsonErrorAt';
import { validateManifest } from './validateManifest';

const SHA256 = /^[0-9a-f]{64}$/;

/** The largest manifest.json read; real ones are under 2 KB. */
export const MAX_MANIFEST_BYTES = 1 << 20;

/** The UTF-8 byte-order mark (U+FEFF). */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function hasBom(bytes: Buffer): boolean {
  return bytes.subarray(0, BOM.length).equals(BOM);
}

interface Registration {
  sha256: string;
  addedAt: string;
}

/**
 * The bytes of a model folder's file, which must be a regular file in it:
 * a symbolic link is refused (not followed), so the folder cannot make
 * lpacs read, and a refusal describe, a file elsewhere (/etc/passwd, a
 * data set's truth file). A file over `max` bytes is refused before it is
 * read. A refusal is the file's own: MANIFEST_INVALID for manifest.json,
 * MODEL_INVALID for model.onnx (missing, a link, not a file).
 */
async function readOwnFile(
  dir: string,
  name: 'manifest.json' | 'model.onnx',
  max = Infinity,
): Promise<Buffer> {
  const path = join(dir, name);
  const code =
    name === 'model.onnx'
      ? MlErrorCode.ModelInvalid
      : MlErrorCode.ManifestInvalid;
  const refuse = (why: string): never => {
    throw new MlError(code, `${path} ${why}`);
  };
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ELOOP'
      ? refuse(
          'is a symbolic link: lpacs reads only regular files in a model folder (copy the file there)',
        )
      : refuse(`cannot be read (${code})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) refuse('is not a regular file');
    if (stat.size > max)
      refuse(`is ${stat.size} bytes; a manifest is at most ${max} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Reads and validates dir/manifest.json, returning it and its text.
 * `stored`: a manifest already in the lake, whose fields unknown to this
 * version are passed over (a lake may hold manifests added before unknown
 * fields were refused). `showValues` false: no refusal quotes the file
 * (see validateManifest); the file is not JSON is said by line and
 * column either way. A leading UTF-8 byte-order mark is dropped.
 */
async function readManifest(
  dir: string,
  options: { stored?: boolean; showValues?: boolean } = {},
): Promise<{ manifest: ModelManifest; text: Buffer }> {
  const read = await readOwnFile(dir, 'manifest.json', MAX_MANIFEST_BYTES);
  // A UTF-8 byte-order mark, which some editors write first, is not part
  // of the JSON: it is dropped, and the text stored is the one validated.
  const text = hasBom(read) ? read.subarray(BOM.length) : read;
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch {
    const at = jsonErrorAt(text.toString('utf8'));
    throw new MlError(
      MlErrorCode.ManifestInvalid,
      `${join(dir, 'manifest.json')} is not valid JSON${at ? ` (line ${at.line}, column ${at.column})` : ''}`,
    );
  }
  const manifest = validateManifest(json, {
    ignoreUnknown: options.stored,
    showValues: options.showValues,
  });
  return { manifest, text };
}

/**
 * Opens the model once to check it, naming a file onnxruntime cannot
 * load; its own message ("Load model from ... failed:Protobuf parsing
 * failed.") carries no code and reads like a crash.
 */
async function checkModel(
  dir: string,
  manifest: ModelManifest,
  options: SessionOptions,
): Promise<void> {
  let model: OnnxModel;
  try {
    model = await OnnxModel.open(dir, manifest, { ...options, poolSize: 1 });
  } catch (err) {
    if (err instanceof MlError) throw err;
    const why = String((err as Error).message ?? err)
      .replace(/^Load model from .* failed:/s, '')
      .replace(/\.$/, '')
      .trim();
    throw new MlError(
      MlErrorCode.ModelInvalid,
      `${join(dir, 'model.onnx')} is not a valid ONNX model (onnxruntime: ${why.slice(0, 200)})`,
    );
  }
  await model.close();
}

/**
 * The models stored in a lake, under `models/<sha256>/` (model.onnx,
 * manifest.json, registration.json). A model's identity is the SHA-256 of
 * its model.onnx; a name may have several versions.
 */
export class ModelRegistry {
  readonly #layout: LakeLayout;
  readonly #logger: Logger;

  constructor(lakeRoot: string, logger: Logger = silentLogger) {
    this.#layout = new LakeLayout(lakeRoot);
    this.#logger = logger;
  }

  /**
   * Validates a model folder (manifest, then the manifest against the ONNX
   * graph) and copies it into the lake. Adding the same model.onnx with
   * the same manifest again returns the stored one, `alreadyStored`.
   * @param dir - a folder with model.onnx and manifest.json, regular
   * files both (a symbolic link is refused), the manifest at most
   * MAX_MANIFEST_BYTES.
   * @param options - `showValues` (default false): whether a refusal may
   * quote the manifest's values (the operator's own command line) or
   * only says their types and sizes (a refusal sent over the network).
   * @throws MlError MANIFEST_INVALID, MODEL_INVALID (model.onnx missing,
   * not a regular file, or not one onnxruntime can load), MODEL_MISMATCH or MODEL_CONFLICT (the
   * name and version are stored with another model.onnx, or this
   * model.onnx with another manifest).
   */
  async add(
    dir: string,
    options: SessionOptions & { showValues?: boolean } = {},
  ): Promise<AddedModel> {
    const { showValues = false, ...session } = options;
    const { manifest, text } = await readManifest(dir, { showValues });
    const onnx = await readOwnFile(dir, 'model.onnx');
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    await checkModel(dir, manifest, session);
    const existing = await this.list();
    const same = existing.find((m) => m.sha256 === sha256);
    if (same) {
      if (JSON.stringify(same.manifest) === JSON.stringify(manifest))
        return { ...same, alreadyStored: true };
      throw new MlError(
        MlErrorCode.ModelConflict,
        `this model.onnx is already stored as ${same.manifest.name} ${same.manifest.version} with another manifest`,
      );
    }
    const clash = existing.find(
      (m) =>
        m.manifest.name === manifest.name &&
        m.manifest.version === manifest.version,
    );
    if (clash)
      throw new MlError(
        MlErrorCode.ModelConflict,
        `${manifest.name} ${manifest.version} is already stored with model.onnx ${clash.sha256.slice(0, 12)}; give this one another version`,
      );
    const target = this.#layout.model(sha256);
    const tmp = join(
      this.#layout.models,
      `.tmp-${randomBytes(6).toString('hex')}`,
    );
    await mkdir(tmp, { recursive: true });
    try {
      // The bytes hashed above, not the file again: it could have changed
      // since, and the folder is named by that hash.
      await writeFile(join(tmp, 'model.onnx'), onnx);
      // The manifest validated, not the file again.
      await writeFile(join(tmp, 'manifest.json'), text);
      const addedAt = new Date().toISOString();
      const reg: Registration = { sha256, addedAt };
      await writeFile(join(tmp, 'registration.json'), JSON.stringify(reg));
      for (const f of ['model.onnx', 'manifest.json', 'registration.json'])
        await fsyncPath(join(tmp, f));
      await fsyncPath(tmp);
      await rename(tmp, target);
      await fsyncPath(this.#layout.models);
      this.#logger.info(
        { model: manifest.name, version: manifest.version, sha256 },
        'ml.registry model added',
      );
      return { sha256, manifest, dir: target, addedAt, alreadyStored: false };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Every stored model, by name then newest first. */
  async list(): Promise<RegisteredModel[]> {
    let names: string[];
    try {
      names = await readdir(this.#layout.models);
    } catch {
      return [];
    }
    const out: RegisteredModel[] = [];
    for (const name of names) {
      if (!SHA256.test(name)) continue;
      const dir = this.#layout.model(name);
      try {
        const { manifest } = await readManifest(dir, { stored: true });
        const reg = JSON.parse(
          await readFile(join(dir, 'registration.json'), 'utf8'),
        ) as Registration;
        out.push({ sha256: name, manifest, dir, addedAt: reg.addedAt });
      } catch (err) {
        this.#logger.warn(
          { sha256: name, error: (err as Error).message },
          'ml.registry unreadable model folder skipped',
        );
      }
    }
    return out.sort(
      (a, b) =>
        a.manifest.name.localeCompare(b.manifest.name) ||
        b.addedAt.localeCompare(a.addedAt),
    );
  }

  /**
   * A stored model by SHA-256, or by name (the newest added, or the given
   * version).
   * @throws MlError MODEL_NOT_FOUND.
   */
  async get(nameOrSha: string, version?: string): Promise<RegisteredModel> {
    const all = await this.list();
    const found =
      all.find((m) => m.sha256 === nameOrSha) ??
      all.find(
        (m) =>
          m.manifest.name === nameOrSha &&
          (version === undefined || m.manifest.version === version),
      );
    if (!found)
      throw new MlError(
        MlErrorCode.ModelNotFound,
        `no model ${JSON.stringify(nameOrSha)}${version ? ` version ${JSON.stringify(version)}` : ''} in the lake (add one with lpacs models add DIR)`,
      );
    return found;
  }
}
