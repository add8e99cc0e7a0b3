/**
 * Counts work in progress and makes `acquire` wait while `limit` are in
 * progress: shared by a job's chunks, it keeps the batches sent to a model
 * bounded while the next chunk's first batch is sent before the last one's
 * ends.
 */
export class InFlightLimit {
  readonly limit: number;
  readonly #waiting: Array<() => void> = [];
  #count = 0;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  /** Resolves once fewer than `limit` are in progress, counting one more. */
  async acquire(): Promise<void> {
    while (this.#count >= this.limit)
      await new Promise<void>((r) => this.#waiting.push(r));
    this.#count++;
  }

  /** Counts one less in progress. */
  release(): void {
    this.#count--;
    this.#waiting.shift()?.();
  }
}
