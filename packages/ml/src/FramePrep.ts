import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MlError } from './MlError';
import type { MlErrorCode } from './MlError';
import type { Preprocessing } from './types';

/** A frame to decode and preprocess. */
export interface PrepRequest {
  id: number;
  bytes: Uint8Array;
  frame: number;
  pre: Preprocessing;
  channels: number;
}

/** The model input of a frame, or why there is none. */
export interface PrepReply {
  id: number;
  tensor?: Float32Array;
  code?: MlErrorCode;
  message?: string;
}

/**
 * Worker threads that decode (`@lpacs/pixels`) and preprocess frames for a
 * prediction job, at a lower priority (see SessionOptions.niceness). Jobs
 * use one unless given their own decoder.
 */
export class FramePrep {
  readonly #workers: Worker[];
  readonly #pending = new Map<
    number,
    { resolve: (t: Float32Array) => void; reject: (e: Error) => void }
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
        if (reply.tensor) waiting.resolve(reply.tensor);
        else
          waiting.reject(new MlError(reply.code!, reply.message ?? 'failed'));
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

  /**
   * The preprocessed tensor of one frame.
   * @throws MlError UNDECODABLE (or the preprocessing's code) for a bad frame.
   */
  prepare(
    bytes: Uint8Array,
    frame: number,
    pre: Preprocessing,
    channels: number,
  ): Promise<Float32Array> {
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length]!;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) for (const w of this.#workers) w.ref();
      this.#pending.set(id, { resolve, reject });
      // A copy: the job keeps the bytes for a DICOM SEG of the frame.
      worker.postMessage({
        id,
        bytes,
        frame,
        pre,
        channels,
      } satisfies PrepRequest);
    });
  }

  async close(): Promise<void> {
    this.#failAll(new Error('frame preparation closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
