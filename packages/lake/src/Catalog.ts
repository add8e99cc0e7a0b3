import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBValue,
} from '@duckdb/node-api';
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { LakeLayout } from './LakeLayout';
import { SCHEMAS, TABLE_NAMES } from './schemas';
import type { TableName } from './types';
import { openDuckDB } from './openDuckDB';
import { sqlString } from './sqlString';
import { tablesChanged } from './tableChanges';
import {
  keyIdOf,
  parquetFileName,
  parquetSource,
  tableFiles,
  tableKeys,
} from './encryption/tableKeys';
import type { TableKeys } from './encryption/tableKeys';

/** A plain JS value out of DuckDB: bigint becomes number, dates strings. */
export type Plain =
  string | number | boolean | null | Plain[] | { [k: string]: Plain };

function plain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (
    typeof value === 'number' ||
    typeof value === 'string' ||
    typeof value === 'boolean'
  )
    return value;
  if (Array.isArray(value)) return value.map(plain);
  return String(value);
}

/**
 * The columns of `series_rollup` (see Catalog.seriesRollup): the keys of
 * a series' patient, study and series, and what cohort filters and facets
 * read that is the same for a series' instances as a rule.
 */
export const ROLLUP_COLUMNS = [
  'PatientID',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'Modality',
  'BodyPartExamined',
  'PatientSex',
  'Manufacturer',
  'age_years',
  'StudyDate',
  'StudyDescription',
  'SeriesDescription',
] as const;

/** Options of a catalog; all have defaults. */
export interface CatalogOptions {
  /** DuckDB worker threads (default 2). */
  threads?: number;
  /** Queries that may run at once, one connection each (default 4). */
  connections?: number;
  /** A query running longer is interrupted with QUERY_TIMEOUT (default 30 s). */
  timeoutMs?: number;
  /**
   * How long (ms) a look at the tables stands when this process changed
   * none of them (default 250; see Catalog.#fresh).
   */
  recheckMs?: number;
}

/** A query that ran past the catalog's time limit and was stopped. */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
  readonly code = 'QUERY_TIMEOUT';
}

/**
 * DuckDB views over a lake's Parquet tables. `instances` reads every batch;
 * `patients`, `studies` and `series` keep each key's latest batch row.
 * Queries run on a small pool of connections, so slow ones do not queue
 * fast ones, and each is interrupted past the time limit.
 */
export class Catalog {
  readonly #layout: LakeLayout;
  /** The keys of an encrypted lake's tables; undefined in the clear. */
  readonly #keys: TableKeys | undefined;
  readonly #instance: DuckDBInstance;
  /** The connection that (re)creates views; views are shared by all. */
  readonly #views: DuckDBConnection;
  readonly #idle: DuckDBConnection[];
  readonly #waiting: Array<(c: DuckDBConnection) => void> = [];
  readonly #all: DuckDBConnection[];
  readonly #timeoutMs: number;
  readonly #recheckMs: number;
  #viewsFor = '';
  /** Each table's version directory as the views last found it. */
  #dirs = new Map<TableName, string | undefined>();
  #refreshing: Promise<void> | undefined;
  /** What `series_rollup` was built from: the version directory and its batches. */
  #rolled: { dir: string | undefined; batches: Set<string> } | undefined;
  #rolling: Promise<unknown> = Promise.resolve();
  /** When the views and the rollup last looked at the tables. */
  #viewsChecked: { at: number; changes: number } | undefined;
  #rollupChecked: { at: number; changes: number } | undefined;
  /** Queries started and not yet settled; close() waits for them. */
  readonly #running = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(
    root: string,
    instance: DuckDBInstance,
    connections: DuckDBConnection[],
    timeoutMs: number,
    recheckMs: number,
  ) {
    this.#layout = new LakeLayout(root);
    this.#keys = tableKeys(root);
    this.#instance = instance;
    this.#all = connections;
    this.#views = connections[0]!;
    this.#idle = connections.slice(1);
    this.#timeoutMs = timeoutMs;
    this.#recheckMs = recheckMs;
  }

  static async open(
    root: string,
    options: CatalogOptions = {},
  ): Promise<Catalog> {
    const instance = await openDuckDB(options.threads ?? 2);
    const connections: DuckDBConnection[] = [];
    for (let i = 0; i <= Math.max(1, options.connections ?? 4); i++)
      connections.push(await instance.connect());
    const catalog = new Catalog(
      root,
      instance,
      connections,
      options.timeoutMs ?? 30_000,
      options.recheckMs ?? 250,
    );
    await catalog.refresh();
    return catalog;
  }

  /**
   * The table's current version directory (tables/<t> is a symlink that a
   * compaction swaps), or undefined when the table holds no Parquet yet.
   * Views read through the resolved path, so a query that started before a
   * swap keeps reading the version it listed.
   */
  async #source(table: TableName): Promise<string | undefined> {
    try {
      const dir = await realpath(this.#layout.table(table));
      if (this.#keys) {
        // Encrypted: the views read one glob per key, so they are made
        // again when a writer with a new key commits (the signature).
        const ids = new Set<string>();
        for (const f of await tableFiles(dir)) {
          const id = keyIdOf(f);
          if (id) ids.add(id);
        }
        return ids.size ? `${dir}|${[...ids].sort().join('|')}` : undefined;
      }
      for (const name of await readdir(dir)) {
        if (!name.startsWith('batch=')) continue;
        if (
          (await readdir(join(dir, name))).some((f) => f.endsWith('.parquet'))
        )
          return dir;
      }
    } catch {
      // no table directory yet
    }
    return undefined;
  }

  #emptyView(table: TableName): string {
    const cols = SCHEMAS[table].columns.map(
      (c) => `CAST(NULL AS ${c.type}) AS "${c.name}"`,
    );
    return `SELECT ${cols.join(', ')}, CAST(NULL AS VARCHAR) AS batch WHERE false`;
  }

  /** A view's query over a table version: `dir`, or `dir|key|key...`. */
  async #fileView(found: string): Promise<string> {
    const [dir, ...ids] = found.split('|') as [string, ...string[]];
    if (!ids.length)
      return `SELECT * FROM read_parquet(${sqlString(join(dir, '*', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`;
    return parquetSource(
      ids.map((id) => join(dir, '*', parquetFileName(id))),
      { keys: this.#keys, conn: this.#views, hive: true },
    );
  }

  /**
   * True while the last look at the tables stands: this process changed
   * none since (see tableChanges), and it is under `recheckMs` old. Other
   * processes' commits show in the views at once (they list files per
   * query); a new table version or the rollup may wait that long.
   */
  #fresh(checked: { at: number; changes: number } | undefined): boolean {
    return (
      checked !== undefined &&
      checked.changes === tablesChanged() &&
      Date.now() - checked.at < this.#recheckMs
    );
  }

  /** Recreates the views when tables appeared since the last call (cheap). */
  refresh(): Promise<void> {
    if (this.#fresh(this.#viewsChecked)) return Promise.resolve();
    // One refresh at a time; concurrent callers share it.
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const checked = { at: Date.now(), changes: tablesChanged() };
    const present = await Promise.all(TABLE_NAMES.map((t) => this.#source(t)));
    this.#dirs = new Map(
      TABLE_NAMES.map((t, i) => [t, present[i]?.split('|')[0]]),
    );
    const signature = present.join(',');
    if (signature === this.#viewsFor) {
      this.#viewsChecked = checked;
      return;
    }
    for (const [i, table] of TABLE_NAMES.entries()) {
      const dir = present[i];
      const source = dir ? await this.#fileView(dir) : this.#emptyView(table);
      const raw = `${table}_batches`;
      await this.#views.run(`CREATE OR REPLACE VIEW ${raw} AS ${source}`);
      if (table === 'instances') {
        await this.#views.run(
          `CREATE OR REPLACE VIEW instances AS SELECT * FROM ${raw}`,
        );
      } else {
        const key = SCHEMAS[table].key.map((k) => `"${k}"`).join(', ');
        await this.#views.run(
          `CREATE OR REPLACE VIEW ${table} AS SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY batch DESC) AS rn FROM ${raw}) WHERE rn = 1`,
        );
      }
    }
    this.#viewsFor = signature;
    this.#viewsChecked = checked;
  }

  /**
   * Brings the `series_rollup` table up to date with the batches of
   * `instances` present now and returns its name. It has one row per
   * series and combination of the ROLLUP_COLUMNS values its instances
   * hold, with their count `n`: a filter over those columns selects the
   * same patients, studies and series there as over `instances`, from
   * about a fifth of the rows (counts of instances are `sum(n)`). New
   * batches are added to it; a compaction or erasure (a new version of the
   * table, or a batch gone) rebuilds it.
   */
  async seriesRollup(): Promise<string> {
    if (this.#closing) throw new Error('catalog is closed');
    const next = this.#rolling.then(() => this.#updateRollup());
    this.#rolling = next.catch(() => undefined);
    // close() waits for it like for a query (see close).
    this.#running.add(next);
    try {
      await next;
    } finally {
      this.#running.delete(next);
    }
    return 'series_rollup';
  }

  async #updateRollup(): Promise<void> {
    if (this.#fresh(this.#rollupChecked)) return;
    const checked = { at: Date.now(), changes: tablesChanged() };
    await this.refresh();
    const dir = this.#dirs.get('instances');
    const batches = dir
      ? (await readdir(dir))
          .filter((n) => n.startsWith('batch='))
          .map((n) => n.slice('batch='.length))
      : [];
    const rolled = this.#rolled;
    const grown =
      rolled !== undefined &&
      rolled.dir === dir &&
      [...rolled.batches].every((b) => batches.includes(b));
    const todo = grown
      ? batches.filter((b) => !rolled.batches.has(b))
      : batches;
    if (grown && todo.length === 0) {
      this.#rollupChecked = checked;
      return;
    }
    const cols = ROLLUP_COLUMNS.map((c) => `"${c}"`).join(', ');
    // Exactly the batches listed: one committed meanwhile is added next time.
    const where = todo.length
      ? `WHERE batch IN (${todo.map(() => '?').join(', ')})`
      : 'WHERE false';
    const select = `SELECT ${cols}, count(*) AS n FROM instances ${where} GROUP BY ALL`;
    const connection = await this.#acquire();
    try {
      await connection.run(
        grown
          ? `INSERT INTO series_rollup ${select}`
          : `CREATE OR REPLACE TABLE series_rollup AS ${select}`,
        todo,
      );
    } finally {
      this.#release(connection);
    }
    this.#rolled = {
      dir,
      batches: new Set(grown ? [...rolled.batches, ...todo] : todo),
    };
    this.#rollupChecked = checked;
  }

  /**
   * Runs parameterised SQL and returns plain row objects.
   * @throws QueryTimeoutError past the time limit.
   */
  async query(
    sql: string,
    params: DuckDBValue[] = [],
  ): Promise<Array<Record<string, Plain>>> {
    if (this.#closing) throw new Error('catalog is closed');
    const run = this.#run(sql, params);
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
    }
  }

  #acquire(): Promise<DuckDBConnection> {
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(connection: DuckDBConnection): void {
    const next = this.#waiting.shift();
    if (next) next(connection);
    else this.#idle.push(connection);
  }

  async #run(
    sql: string,
    params: DuckDBValue[],
    retried = false,
  ): Promise<Array<Record<string, Plain>>> {
    await this.refresh();
    const connection = await this.#acquire();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, this.#timeoutMs);
    try {
      const reader = await connection.runAndReadAll(sql, params);
      return reader.getRowObjectsJS().map((row) => {
        const out: Record<string, Plain> = {};
        for (const [k, v] of Object.entries(row)) out[k] = plain(v);
        return out;
      });
    } catch (err) {
      if (timedOut)
        throw new QueryTimeoutError(
          `the query ran longer than ${this.#timeoutMs} ms and was stopped; narrow the filter`,
        );
      if (!retried && /No files found|No such file/i.test(String(err))) {
        // Another process swapped a table version in (a compaction or an
        // erasure) and removed the one the views read: look again, once.
        this.#viewsChecked = undefined;
        this.#rollupChecked = undefined;
      } else throw err;
    } finally {
      clearTimeout(timer);
      this.#release(connection);
    }
    return this.#run(sql, params, true);
  }

  /**
   * Refuses new queries, lets running ones finish (interrupting any still
   * running after a second), then closes DuckDB. Closing under a running
   * query is not safe: DuckDB then destroys the connection on the thread
   * running the query while holding its lock, and that thread never ends
   * (process.exit waits on it forever).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const grace = setTimeout(() => {
        for (const c of this.#all) c.interrupt();
      }, 1000);
      grace.unref();
      while (this.#running.size > 0)
        await Promise.allSettled([...this.#running]);
      await this.#refreshing?.catch(() => undefined);
      clearTimeout(grace);
      for (const c of this.#all) c.closeSync();
      this.#instance.closeSync();
    })();
    return this.#closing;
  }
}
