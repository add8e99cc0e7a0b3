import { TABLE_NAMES } from '@lpacs/lake';
import type { Catalog, Logger } from '@lpacs/lake';

/** Why /readyz answers 503. */
export enum NotReadyCode {
  /** A table's Parquet files do not read (a file damaged, cut short, gone). */
  Unreadable = 'LAKE_UNREADABLE',
  /** The tables did not answer within the check's time limit. */
  Slow = 'LAKE_SLOW',
  /** The server is stopping: its catalog is closed. */
  Stopping = 'STOPPING',
}

/** What the last readiness check found. */
export type ReadyState =
  { ready: true } | { ready: false; code: NotReadyCode; message: string };

/** Options of a readiness check; all have defaults. */
export interface ReadinessOptions {
  /** How long a result stands, so probes stay cheap (default 5000 ms). */
  cacheMs?: number;
  /** A check that takes longer answers LAKE_SLOW (default 5000 ms). */
  limitMs?: number;
  logger?: Logger;
}

/**
 * Whether the lake can be queried: every table's Parquet files are read
 * as far as their footers (`count(*)` of each table's batches, which
 * DuckDB answers from the footers' row counts, the same files a cohort
 * query opens), not their pages. One check runs at a time; its result
 * stands for `cacheMs`, and a caller waits at most `limitMs` for it.
 */
export class Readiness {
  readonly #catalog: Catalog;
  readonly #cacheMs: number;
  readonly #limitMs: number;
  readonly #logger: Logger | undefined;
  #last: { at: number; state: ReadyState } | undefined;
  #running: Promise<ReadyState> | undefined;

  constructor(catalog: Catalog, options: ReadinessOptions = {}) {
    this.#catalog = catalog;
    this.#cacheMs = options.cacheMs ?? 5000;
    this.#limitMs = options.limitMs ?? 5000;
    this.#logger = options.logger;
  }

  /** The state of the lake, checked at most once per `cacheMs`. */
  async state(): Promise<ReadyState> {
    const last = this.#last;
    if (last && Date.now() - last.at < this.#cacheMs) return last.state;
    this.#running ??= this.#check()
      .then((state) => {
        this.#note(state);
        this.#last = { at: Date.now(), state };
        return state;
      })
      .finally(() => {
        this.#running = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ReadyState>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            ready: false,
            code: NotReadyCode.Slow,
            message: `the lake's tables did not answer within ${this.#limitMs} ms`,
          }),
        this.#limitMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([this.#running, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #check(): Promise<ReadyState> {
    for (const table of TABLE_NAMES) {
      try {
        await this.#catalog.query(`SELECT count(*) AS n FROM ${table}_batches`);
      } catch (err) {
        if (/catalog is closed/.test(String(err)))
          return {
            ready: false,
            code: NotReadyCode.Stopping,
            message: 'the server is stopping',
          };
        this.#logger?.warn(
          { table, err: String(err) },
          'readiness: a table of the lake cannot be read',
        );
        return {
          ready: false,
          code: NotReadyCode.Unreadable,
          message: `the ${table} table cannot be read (the server log names the file)`,
        };
      }
    }
    return { ready: true };
  }

  /** Logs a change back to ready (failures are logged with their error). */
  #note(state: ReadyState): void {
    if (state.ready && this.#last && !this.#last.state.ready)
      this.#logger?.info({}, 'readiness: the lake can be queried again');
  }
}

/** The body and status /readyz answers for a state. */
export function readyAnswer(state: ReadyState): {
  status: number;
  body: string;
} {
  return state.ready
    ? { status: 200, body: 'ready\n' }
    : { status: 503, body: `not ready: ${state.code}: ${state.message}\n` };
}
