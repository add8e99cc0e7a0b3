import { cpus } from 'node:os';
import { InferenceSession } from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-node';
import type { Logger } from '@lpacs/lake';
import type { SessionOptions } from './types';

/** Default threads per session: half the cores, so queries keep a share. */
export function defaultIntraOpThreads(): number {
  return Math.max(1, Math.floor(cpus().length / 2));
}

/**
 * A fixed set of onnxruntime sessions over one model file. `run` waits for
 * an idle session, so at most `poolSize` batches run at once.
 */
export class SessionPool {
  readonly #sessions: InferenceSession[];
  readonly #idle: InferenceSession[];
  readonly #waiting: Array<(s: InferenceSession) => void> = [];
  #closed = false;

  private constructor(sessions: InferenceSession[]) {
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
    const sessions: InferenceSession[] = [];
    try {
      for (let i = 0; i < size; i++)
        sessions.push(
          await InferenceSession.create(path, {
            executionProviders,
            intraOpNumThreads,
            interOpNumThreads: 1,
            graphOptimizationLevel: 'all',
          }),
        );
    } catch (err) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw err;
    }
    logger.debug(
      { sessions: size, intraOpNumThreads, executionProviders },
      'ml.onnx sessions open',
    );
    return new SessionPool(sessions);
  }

  /** The first session, for its input and output metadata. */
  get first(): InferenceSession {
    return this.#sessions[0]!;
  }

  get size(): number {
    return this.#sessions.length;
  }

  /** Runs feeds on the next idle session. */
  async run(
    feeds: Record<string, Tensor>,
  ): Promise<InferenceSession.OnnxValueMapType> {
    if (this.#closed) throw new Error('session pool is closed');
    const session =
      this.#idle.pop() ??
      (await new Promise<InferenceSession>((r) => this.#waiting.push(r)));
    try {
      return await session.run(feeds);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(session);
      else this.#idle.push(session);
    }
  }

  /** Releases every session (after running batches finish). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#idle.length < this.#sessions.length)
      await new Promise<InferenceSession>((r) => this.#waiting.push(r)).then(
        (s) => this.#idle.push(s),
      );
    await Promise.all(this.#sessions.map((s) => s.release()));
  }
}
