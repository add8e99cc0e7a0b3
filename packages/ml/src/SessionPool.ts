import { cpus } from 'node:os';
import type { Logger } from '@lpacs/lake';
import type { TensorSignature } from './checkModelSignature';
import { SessionWorker } from './SessionWorker';
import type { RunResult } from './SessionWorker';
import type { SessionOptions } from './types';

/** Default threads per session: half the cores, so queries keep a share. */
export function defaultIntraOpThreads(): number {
  return Math.max(1, Math.floor(cpus().length / 2));
}

/**
 * Runs one session takes at once: one running and one waiting in its
 * worker, so a session never idles between batches while the main thread
 * receives a result and sends the next batch.
 */
const RUNS_PER_SESSION = 2;

/**
 * A fixed set of onnxruntime sessions over one model file, each in its own
 * worker thread. `run` waits for a session with room, so at most
 * `capacity` batches are sent at once, and none runs on the main thread.
 */
export class SessionPool {
  readonly #sessions: SessionWorker[];
  readonly #waiting: Array<() => void> = [];
  #busyMs = 0;
  #closed = false;

  private constructor(sessions: SessionWorker[]) {
    this.#sessions = sessions;
  }

  /**
   * Opens `poolSize` sessions on a model file.
   * @param path - model.onnx.
   */
  static async open(
    path: string,
    options: SessionOptions,
    logger: Logger,
  ): Promise<SessionPool> {
    const size = Math.max(1, options.poolSize ?? 1);
    const intraOpNumThreads =
      options.intraOpNumThreads ?? defaultIntraOpThreads();
    const executionProviders = options.executionProviders ?? ['cpu'];
    const sessions: SessionWorker[] = [];
    try {
      for (let i = 0; i < size; i++)
        sessions.push(
          await SessionWorker.open(
            path,
            {
              executionProviders,
              intraOpNumThreads,
              interOpNumThreads: 1,
              graphOptimizationLevel: 'all',
            },
            options.niceness ?? 10,
          ),
        );
    } catch (err) {
      await Promise.allSettled(sessions.map((s) => s.close()));
      throw err;
    }
    logger.debug(
      { sessions: size, intraOpNumThreads, executionProviders },
      'ml.onnx sessions open',
    );
    return new SessionPool(sessions);
  }

  /** The model's inputs, as its session describes them. */
  get inputs(): TensorSignature[] {
    return this.#sessions[0]!.inputs;
  }

  /** The model's outputs, as its session describes them. */
  get outputs(): TensorSignature[] {
    return this.#sessions[0]!.outputs;
  }

  get size(): number {
    return this.#sessions.length;
  }

  /** Runs the pool takes before `run` waits. */
  get capacity(): number {
    return this.#sessions.length * RUNS_PER_SESSION;
  }

  /** Seconds the sessions have spent running batches, all told. */
  get busySeconds(): number {
    return this.#busyMs / 1000;
  }

  /** The least loaded session with room, if any. */
  #pick(): SessionWorker | undefined {
    let best: SessionWorker | undefined;
    for (const s of this.#sessions)
      if (
        s.outstanding < RUNS_PER_SESSION &&
        (!best || s.outstanding < best.outstanding)
      )
        best = s;
    return best;
  }

  /**
   * Runs one input on the least loaded session and returns one output;
   * `data` is transferred to the worker.
   */
  async run(
    input: string,
    output: string,
    data: Float32Array,
    dims: number[],
  ): Promise<RunResult> {
    if (this.#closed) throw new Error('session pool is closed');
    let session = this.#pick();
    while (!session) {
      await new Promise<void>((r) => this.#waiting.push(r));
      session = this.#pick();
    }
    try {
      const result = await session.run(input, output, data, dims);
      this.#busyMs += result.endedAt - result.startedAt;
      return result;
    } finally {
      this.#waiting.shift()?.();
    }
  }

  /** Ends every session (after sent batches finish). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#sessions.some((s) => s.outstanding > 0))
      await new Promise<void>((r) => this.#waiting.push(r));
    await Promise.all(this.#sessions.map((s) => s.close()));
  }
}
