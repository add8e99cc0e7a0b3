import { setTimeout as sleep } from 'node:timers/promises';
import {
  Lake,
  LakeError,
  LakeErrorCode,
  newBatchId,
  silentLogger,
} from '@lpacs/lake';
import type { Logger, Row } from '@lpacs/lake';

/** Where a job's prediction rows go, one commit per chunk of inputs. */
export interface PredictionSink {
  commit(rows: Row[]): Promise<void>;
}

/**
 * Commits prediction rows as a lake batch, appending beside ingests. While
 * another process has the lake to itself (a compaction or erasure:
 * LAKE_BUSY) the sink waits and retries, up to `maxWaitMs`.
 */
export class LakePredictionSink implements PredictionSink {
  readonly #root: string;
  readonly #logger: Logger;
  readonly #retryMs: number;
  readonly #maxWaitMs: number;

  constructor(
    root: string,
    logger: Logger = silentLogger,
    options: { retryMs?: number; maxWaitMs?: number } = {},
  ) {
    this.#root = root;
    this.#logger = logger;
    this.#retryMs = options.retryMs ?? 500;
    this.#maxWaitMs = options.maxWaitMs ?? 10 * 60_000;
  }

  async commit(rows: Row[]): Promise<void> {
    if (!rows.length) return;
    const started = Date.now();
    let warned = false;
    for (;;) {
      let lake: Lake;
      try {
        lake = await Lake.open(this.#root, this.#logger, 'append');
      } catch (err) {
        const busy =
          err instanceof LakeError && err.code === LakeErrorCode.Busy;
        if (!busy || Date.now() - started > this.#maxWaitMs) throw err;
        if (!warned)
          this.#logger.warn(
            { rows: rows.length },
            'ml.jobs lake busy; waiting to commit predictions',
          );
        warned = true;
        await sleep(this.#retryMs);
        continue;
      }
      try {
        await lake.commitBatch(newBatchId(), { predictions: rows });
        return;
      } finally {
        lake.close();
      }
    }
  }
}
