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
 * A fixed set of onnxruntime sessions over one model file, each in its own
 * worker thread. `run` waits for an idle session, so at most `poolSize`
 * batches run at once, and none on the main thread.
 */
export class SessionPool {
  readonly #sessions: SessionWorker[];
  readonly #idle: SessionWorker[];
  readonly #waiting: Array<(s: SessionWorker) => void> = [];
  #closed = false;

  private constructor(sessions: SessionWorker[]) {
    this.#sessions = sessions;
    this.#idle = [...sessions];
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

  /**
   * Runs one input on the next idle session and returns one output;
   * `data` is transferred to the worker.
   */
  async run(
    input: string,
    output: string,
    data: Float32Array,
    dims: number[],
  ): Promise<RunResult> {
    if (this.#closed) throw new Error('session pool is closed');
    const session =
      this.#idle.pop() ??
      (await new Promise<SessionWorker>((r) => this.#waiting.push(r)));
    try {
      return await session.run(input, output, data, dims);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(session);
      else this.#idle.push(session);
    }
  }

  /** Ends every session (after running batches finish). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#idle.length < this.#sessions.length)
      this.#idle.push(
        await new Promise<SessionWorker>((r) => this.#waiting.push(r)),
      );
    await Promise.all(this.#sessions.map((s) => s.close()));
  }
}
