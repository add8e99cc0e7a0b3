import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { TensorSignature } from './checkModelSignature';
import type { WorkerReply, WorkerRequest, WorkerStart } from './workerMessages';

/** One run's output tensor. */
export interface RunResult {
  data: Float32Array;
  dims: number[];
  /**
   * When the session started and ended this run, in ms since the epoch
   * (sub-millisecond, comparable across threads).
   */
  startedAt: number;
  endedAt: number;
}

type Pending = { resolve: (r: RunResult) => void; reject: (e: Error) => void };

/**
 * An onnxruntime session living in a worker thread (see onnxWorker.ts):
 * inputs are transferred to it, not copied, and the main thread stays free
 * while it runs. Runs sent while one runs wait in the worker, in order.
 */
export class SessionWorker {
  readonly inputs: TensorSignature[];
  readonly outputs: TensorSignature[];
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #dead: Error | undefined;

  private constructor(
    worker: Worker,
    inputs: TensorSignature[],
    outputs: TensorSignature[],
  ) {
    this.#worker = worker;
    this.inputs = inputs;
    this.outputs = outputs;
    worker.on('message', (m: WorkerReply) => {
      if (m.kind !== 'result' && m.kind !== 'error') return;
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.kind === 'result')
        p?.resolve({
          data: m.data,
          dims: m.dims,
          startedAt: m.startedAt,
          endedAt: m.endedAt,
        });
      else p?.reject(new Error(m.message));
    });
    const fail = (err: Error) => {
      this.#dead = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('session worker exited')));
  }

  /** Starts a worker and opens the session in it. */
  static open(
    path: string,
    options: InferenceSession.SessionOptions,
    niceness = 0,
  ): Promise<SessionWorker> {
    const worker = new Worker(join(__dirname, 'onnxWorker.js'), {
      workerData: { path, options, niceness } satisfies WorkerStart,
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      worker.once('error', onError);
      worker.once('message', (m: WorkerReply) => {
        worker.off('error', onError);
        if (m.kind === 'ready')
          resolve(new SessionWorker(worker, m.inputs, m.outputs));
        else {
          void worker.terminate();
          reject(new Error(m.kind === 'failed' ? m.message : 'bad reply'));
        }
      });
    });
  }

  /** Runs sent and not answered yet. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Runs one input; `data` is transferred (unusable here afterwards). */
  run(
    input: string,
    output: string,
    data: Float32Array,
    dims: number[],
  ): Promise<RunResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(
        { kind: 'run', id, input, output, data, dims } satisfies WorkerRequest,
        [data.buffer as ArrayBuffer],
      );
    });
  }

  /** Releases the session and ends the worker. */
  async close(): Promise<void> {
    if (this.#dead) return;
    const exited = new Promise((r) => this.#worker.once('exit', r));
    this.#worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
    await exited;
  }
}
