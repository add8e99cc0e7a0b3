import { join } from 'node:path';
import { silentLogger } from '@lpacs/lake';
import type { Logger } from '@lpacs/lake';
import { checkModelSignature } from './checkModelSignature';
import { MlError, MlErrorCode } from './MlError';
import { SessionPool } from './SessionPool';
import type { ModelManifest, SessionOptions } from './types';

/** One run's output: each image's values and their shape (no batch). */
export interface ModelOutput {
  values: Float32Array[];
  dims: readonly number[];
}

/**
 * A model ready to run: its manifest checked against the graph, a pool of
 * sessions, and batching of per-image inputs into runs.
 */
export class OnnxModel {
  readonly manifest: ModelManifest;
  readonly #pool: SessionPool;
  readonly #maxBatch: number;
  /** Values in one input image (channels * rows * columns). */
  readonly imageSize: number;
  /** The model's channel count (1 or 3). */
  readonly channels: number;

  private constructor(
    manifest: ModelManifest,
    pool: SessionPool,
    maxBatch: number,
  ) {
    this.manifest = manifest;
    this.#pool = pool;
    const [, a, b, c] = manifest.inputs[0].shape as [unknown, ...number[]];
    this.channels = manifest.preprocessing.layout === 'NCHW' ? a! : c!;
    this.imageSize = a! * b! * c!;
    const n = manifest.inputs[0].shape[0];
    this.#maxBatch = typeof n === 'number' ? n : Math.max(1, maxBatch);
  }

  /**
   * Opens sessions on `<dir>/model.onnx` and checks the manifest against
   * the graph.
   * @throws MlError MODEL_MISMATCH when they disagree.
   */
  static async open(
    dir: string,
    manifest: ModelManifest,
    options: SessionOptions = {},
    logger: Logger = silentLogger,
  ): Promise<OnnxModel> {
    const pool = await SessionPool.open(
      join(dir, 'model.onnx'),
      options,
      logger,
    );
    try {
      checkModelSignature(manifest, pool.inputs, pool.outputs);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return new OnnxModel(manifest, pool, options.maxBatch ?? 8);
  }

  /** Most images per run. */
  get maxBatch(): number {
    return this.#maxBatch;
  }

  /** Sessions that may run at once. */
  get parallelism(): number {
    return this.#pool.size;
  }

  /**
   * Batches the sessions take before `run` waits: those running and one
   * waiting per session.
   */
  get capacity(): number {
    return this.#pool.capacity;
  }

  /** Seconds the sessions have spent running batches since they opened. */
  get inferenceSeconds(): number {
    return this.#pool.busySeconds;
  }

  /**
   * Runs up to `maxBatch` preprocessed images in one run (a fixed batch
   * size is padded with zeros) and returns each image's output values.
   */
  async run(images: readonly Float32Array[]): Promise<ModelOutput> {
    if (images.length === 0) return { values: [], dims: [] };
    if (images.length > this.#maxBatch)
      throw new RangeError(
        `${images.length} images exceed the batch of ${this.#maxBatch}`,
      );
    const input = this.manifest.inputs[0];
    const fixedN = typeof input.shape[0] === 'number';
    const n = fixedN ? this.#maxBatch : images.length;
    const data = new Float32Array(n * this.imageSize);
    images.forEach((img, i) => {
      if (img.length !== this.imageSize)
        throw new MlError(
          MlErrorCode.BadInput,
          `image has ${img.length} values; the model takes ${this.imageSize}`,
        );
      data.set(img, i * this.imageSize);
    });
    const shape = [n, ...(input.shape.slice(1) as number[])];
    const output = this.manifest.outputs[0]!.name;
    let result;
    try {
      result = await this.#pool.run(input.name, output, data, shape);
    } catch (err) {
      throw new MlError(
        MlErrorCode.InferenceFailed,
        `onnxruntime failed on a batch of ${images.length}: ${(err as Error).message}`,
      );
    }
    const values = result.data;
    const per = values.length / n;
    // Views, not copies: the output buffer is this thread's now (the
    // worker transferred it), and a copy per image was one more large
    // allocation for the garbage collector on the job's main thread.
    return {
      values: images.map((_, i) => values.subarray(i * per, (i + 1) * per)),
      dims: result.dims.slice(1),
    };
  }

  /** Releases the sessions. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
