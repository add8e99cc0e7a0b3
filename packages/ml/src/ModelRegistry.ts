import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  mkdir,
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
import { validateManifest } from './validateManifest';

const SHA256 = /^[0-9a-f]{64}$/;

interface Registration {
  sha256: string;
  addedAt: string;
}

/**
 * Reads and validates dir/manifest.json. `stored`: a manifest already in
 * the lake, whose fields unknown to this version are passed over (a lake
 * may hold manifests added before unknown fields were refused).
 */
async function readManifest(
  dir: string,
  stored = false,
): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (err) {
    throw new MlError(
      MlErrorCode.ManifestInvalid,
      `cannot read ${join(dir, 'manifest.json')} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MlError(
      MlErrorCode.ManifestInvalid,
      `${join(dir, 'manifest.json')} is not valid JSON: ${(err as Error).message}`,
    );
  }
  return validateManifest(json, { ignoreUnknown: stored });
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
   * @param dir - a folder with model.onnx and manifest.json.
   * @throws MlError MANIFEST_INVALID, MODEL_INVALID (onnxruntime cannot
   * load model.onnx), MODEL_MISMATCH or MODEL_CONFLICT (the
   * name and version are stored with another model.onnx, or this
   * model.onnx with another manifest).
   */
  async add(dir: string, options: SessionOptions = {}): Promise<AddedModel> {
    const manifest = await readManifest(dir);
    const onnx = await readFile(join(dir, 'model.onnx')).catch((err) => {
      throw new MlError(
        MlErrorCode.ManifestInvalid,
        `cannot read ${join(dir, 'model.onnx')} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    });
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    await checkModel(dir, manifest, options);
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
      await copyFile(join(dir, 'manifest.json'), join(tmp, 'manifest.json'));
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
        const manifest = await readManifest(dir, true);
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
