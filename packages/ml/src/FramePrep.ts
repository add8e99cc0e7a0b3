import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Row } from '@lpacs/lake';
import { buffersOf } from './buffersOf';
import type { FinishImage, FrameWork } from './FrameWork';
import type { FrameMask, ImageOutcome, OutcomeContext } from './imageOutcome';
import { MlError } from './MlError';
import type { MlErrorCode } from './MlError';
import type { Preprocessing } from './types';

/** An object's frames to read, decode and preprocess. */
export interface PrepRequest {
  kind: 'prepare';
  id: number;
  /** The lake, and the object's key in it. */
  root: string;
  key: string;
  frames: number[];
  pre: Preprocessing;
  channels: number;
}

/** A run's outputs to turn into rows and masks. */
export interface FinishRequest {
  kind: 'finish';
  id: number;
  /** The lake the SEGs' sources are read from. */
  root: string;
  ctx: OutcomeContext;
  images: FinishImage[];
  values: Float32Array[];
}

/** A multi-frame image's masks to encode as one SEG. */
export interface SegmentRequest {
  kind: 'segment';
  id: number;
  /** The lake the source is read from. */
  root: string;
  ctx: OutcomeContext;
  sopInstanceUID: string;
  sourceKey: string;
  frames: FrameMask[];
}

/** What a frame worker answers. */
export interface PrepReply {
  id: number;
  tensors?: Float32Array[];
  /** ImageOutcomes, their masks' Buffers arrived as Uint8Arrays. */
  outcomes?: Array<{
    rows: Row[];
    masks: Array<{ key: string; bytes: Uint8Array }>;
  }>;
  /** A SEG's key and bytes; null when the image cannot have one. */
  segment?: { key: string; bytes: Uint8Array } | null;
  code?: MlErrorCode;
  message?: string;
}

/**
 * Worker threads that read a job's objects from the lake (decrypting them
 * in an encrypted lake), decode (`@lpacs/pixels`) and preprocess their
 * frames, and turn the model's outputs into rows, .npy masks and DICOM
 * SEGs, at a lower priority (see SessionOptions.niceness): the thread that
 * runs the job (an API's) only passes keys, tensors and rows. Jobs use one
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
    message:
      | Omit<PrepRequest, 'id'>
      | Omit<FinishRequest, 'id'>
      | Omit<SegmentRequest, 'id'>,
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
   * The preprocessed tensors of an object's `frames`, in order.
   * @throws MlError UNDECODABLE (or the preprocessing's code) for a bad
   * frame or an object that cannot be read.
   */
  async prepare(
    root: string,
    key: string,
    frames: number[],
    pre: Preprocessing,
    channels: number,
  ): Promise<Float32Array[]> {
    const reply = await this.#send(
      { kind: 'prepare', root, key, frames, pre, channels },
      [],
    );
    return reply.tensors!;
  }

  /**
   * Each image's rows and mask objects, in order (imageOutcome), a SEG's
   * source read from the lake at `root`. `values`' buffers are
   * transferred (unusable here afterwards).
   * @throws MlError INFERENCE_FAILED when an image's cannot be made.
   */
  async finish(
    root: string,
    ctx: OutcomeContext,
    images: FinishImage[],
    values: Float32Array[],
  ): Promise<ImageOutcome[]> {
    const reply = await this.#send(
      { kind: 'finish', root, ctx, images, values },
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

  /**
   * A multi-frame image's masks as one DICOM SEG (instanceSegmentation),
   * its source read from the lake at `root`; undefined when it cannot have
   * one. The masks are copied to the worker, not transferred.
   */
  async segment(
    root: string,
    ctx: OutcomeContext,
    sopInstanceUID: string,
    sourceKey: string,
    frames: FrameMask[],
  ): Promise<{ key: string; bytes: Buffer } | undefined> {
    const reply = await this.#send(
      { kind: 'segment', root, ctx, sopInstanceUID, sourceKey, frames },
      [],
    );
    const seg = reply.segment;
    return seg
      ? {
          key: seg.key,
          bytes: Buffer.from(
            seg.bytes.buffer,
            seg.bytes.byteOffset,
            seg.bytes.length,
          ),
        }
      : undefined;
  }

  /** A job's FrameWork over the lake at `root` for one model's inputs. */
  frameWork(root: string, pre: Preprocessing, channels: number): FrameWork {
    return {
      prepare: (input, frames) =>
        this.prepare(root, input.object_key, [...frames], pre, channels),
      finish: (ctx, images, values) => this.finish(root, ctx, images, values),
      segment: (ctx, sop, key, frames) =>
        this.segment(root, ctx, sop, key, frames),
    };
  }

  async close(): Promise<void> {
    this.#failAll(new Error('frame preparation closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
