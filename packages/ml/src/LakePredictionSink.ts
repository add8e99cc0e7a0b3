import { setTimeout as sleep } from 'node:timers/promises';
import {
  Lake,
  LakeError,
  LakeErrorCode,
  newBatchId,
  silentLogger,
} from '@lpacs/lake';
import type { Logger, Row } from '@lpacs/lake';
import { keepPresent } from './keepPresent';
import type { MaskFile } from './keepPresent';

/**
 * Where a job's prediction rows and masks go, one commit per chunk of
 * inputs. A sink that writes to a lake leaves out the rows and masks of
 * instances erased meanwhile (keepPresent) and returns their UIDs.
 */
export interface PredictionSink {
  commit(rows: Row[], masks?: MaskFile[]): Promise<string[] | void>;
}

/**
 * Commits prediction rows as a lake batch, appending beside ingests, with
 * their masks written first, both only for instances still in the lake
 * (keepPresent). While another process has the lake to itself (a
 * compaction or erasure: LAKE_BUSY) the sink waits and retries, up to
 * `maxWaitMs`.
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

  async commit(rows: Row[], masks: MaskFile[] = []): Promise<string[]> {
    if (!rows.length && !masks.length) return [];
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
        const kept = await keepPresent(lake, rows, masks);
        if (kept.rows.length)
          await lake.commitBatch(newBatchId(), { predictions: kept.rows });
        return kept.erased;
      } finally {
        lake.close();
      }
    }
  }
}
