import { syncFileSystem } from './fsutil';

/** Bytes of new objects between two background flushes. */
const DEFAULT_EVERY = 64 * 1024 * 1024;

/**
 * Starts the disk writing a run's objects while the run goes on. A commit
 * flushes the file system before its rows become visible; Linux would
 * otherwise hold every new object in the page cache until then (it starts
 * writing back only at 10% of memory or after 30 s), so the whole batch
 * would reach the disk while the CPUs wait. A background `syncfs` every
 * 64 MB lets the disk work while the workers do, and leaves the commit's
 * own flush only the tail. Durability still rests on that flush alone:
 * a failed background flush is ignored here and reported by the commit's.
 */
export class EarlyWriteback {
  readonly #flush: () => Promise<void>;
  readonly #every: number;
  #pending = 0;
  #flushing = false;

  /** @param flush flushes the lake's file system (given in tests) */
  constructor(
    root: string,
    every = DEFAULT_EVERY,
    flush: () => Promise<void> = () => syncFileSystem(root),
  ) {
    this.#flush = flush;
    this.#every = every;
  }

  /** Counts bytes of objects written; flushes when enough have piled up. */
  wrote(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending < this.#every || this.#flushing) return;
    this.#pending = 0;
    this.#flushing = true;
    this.#flush()
      .catch(() => {})
      .finally(() => {
        this.#flushing = false;
      });
  }
}
