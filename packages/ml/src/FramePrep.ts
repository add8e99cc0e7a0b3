import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Row } from '@lpacs/lake';
import { buffersOf } from './buffersOf';
import type { ImageOutcome, OutcomeContext } from './imageOutcome';
import { MlError } from './MlError';
import type { MlErrorCode } from './MlError';
import type { PredictionTarget } from './predictionRows';
import type { Preprocessing } from './types';

/** A frame to decode and preprocess. */
export interface PrepRequest {
  kind: 'prepare';
  id: number;
  bytes: Uint8Array;
  frame: number;
  pre: Preprocessing;
  channels: number;
}

/** One image of a run to turn into rows and masks (see imageOutcome). */
export interface FinishImage {
  target: PredictionTarget;
  /** The single-frame source, when a SEG is wanted. */
  segSource?: Uint8Array;
}

/** A run's outputs to turn into rows and masks. */
export interface FinishRequest {
  kind: 'finish';
  id: number;
  ctx: OutcomeContext;
  images: FinishImage[];
  values: Float32Array[];
}

/** What a frame worker answers. */
export interface PrepReply {
  id: number;
  tensor?: Float32Array;
  /** ImageOutcomes, their masks' Buffers arrived as Uint8Arrays. */
  outcomes?: Array<{
    rows: Row[];
    masks: Array<{ key: string; bytes: Uint8Array }>;
  }>;
  code?: MlErrorCode;
  message?: string;
}

/**
 * Worker threads that decode (`@lpacs/pixels`) and preprocess frames for a
 * prediction job, and turn its outputs into rows, .npy masks and DICOM
 * SEGs, at a lower priority (see SessionOptions.niceness). Jobs use one
 * unless given their own decoder.
 */
export class FramePrep {
  readonly #workers: Worker[];
  readonly #pending = new Map<
    number,
    { resolve: (r: PrepReply) => void; reject: (e: Error) => void }
  >();
  #next = 0;

  constructor(threads = 1, niceness = 10) {
    this.#workers = Array.from({ length: Math.max(1, threads) }, () => {
      const worker = new Worker(join(__dirname, 'prepWorker.js'), {
        workerData: { niceness },
      });
      worker.on('message', (reply: PrepReply) => {
        const waiting = this.#pending.get(reply.id);
        if (!waiting) return;
        this.#pending.delete(reply.id);
        // Idle workers must not keep the process alive; busy ones must.
        if (this.#pending.size === 0) for (const w of this.#workers) w.unref();
        if (reply.code === undefined) waiting.resolve(reply);
        else waiting.reject(new MlError(reply.code, reply.message ?? 'failed'));
      });
      worker.on('error', (err) => this.#failAll(err));
      worker.unref();
      return worker;
    });
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #send(
    message: Omit<PrepRequest, 'id'> | Omit<FinishRequest, 'id'>,
    transfer: ArrayBuffer[],
  ): Promise<PrepReply> {
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length]!;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) for (const w of this.#workers) w.ref();
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  /**
   * The preprocessed tensor of one frame.
   * @throws MlError UNDECODABLE (or the preprocessing's code) for a bad frame.
   */
  async prepare(
    bytes: Uint8Array,
    frame: number,
    pre: Preprocessing,
    channels: number,
  ): Promise<Float32Array> {
    // A copy: the job keeps the bytes for a DICOM SEG of the frame.
    const reply = await this.#send(
      { kind: 'prepare', bytes, frame, pre, channels },
      [],
    );
    return reply.tensor!;
  }

  /**
   * Each image's rows and mask objects, in order (imageOutcome).
   * `values`' buffers are transferred (unusable here afterwards).
   * @throws MlError INFERENCE_FAILED when an image's output cannot be read.
   */
  async finish(
    ctx: OutcomeContext,
    images: FinishImage[],
    values: Float32Array[],
  ): Promise<ImageOutcome[]> {
    const reply = await this.#send(
      { kind: 'finish', ctx, images, values },
      buffersOf(values),
    );
    // Buffers again, without a copy.
    return reply.outcomes!.map((o) => ({
      rows: o.rows,
      masks: o.masks.map((m) => ({
        key: m.key,
        bytes: Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length),
      })),
    }));
  }

  async close(): Promise<void> {
    this.#failAll(new Error('frame preparation closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
