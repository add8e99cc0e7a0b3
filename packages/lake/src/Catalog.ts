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

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * DuckDB views over a lake's Parquet tables. `instances` reads every batch;
 * `patients`, `studies` and `series` keep each key's latest batch row.
 */
export class Catalog {
  readonly #layout: LakeLayout;
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  #viewsFor = '';
  /** Queries started and not yet settled; close() waits for them. */
  readonly #running = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(
    root: string,
    instance: DuckDBInstance,
    connection: DuckDBConnection,
  ) {
    this.#layout = new LakeLayout(root);
    this.#instance = instance;
    this.#connection = connection;
  }

  static async open(
    root: string,
    options: { threads?: number } = {},
  ): Promise<Catalog> {
    const instance = await openDuckDB(options.threads ?? 2);
    const catalog = new Catalog(root, instance, await instance.connect());
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

  #fileView(dir: string): string {
    return `SELECT * FROM read_parquet(${sqlString(join(dir, '*', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`;
  }

  /** Recreates the views when tables appeared since the last call (cheap). */
  async refresh(): Promise<void> {
    const present = await Promise.all(TABLE_NAMES.map((t) => this.#source(t)));
    const signature = present.join(',');
    if (signature === this.#viewsFor) return;
    for (const [i, table] of TABLE_NAMES.entries()) {
      const dir = present[i];
      const source = dir ? this.#fileView(dir) : this.#emptyView(table);
      const raw = `${table}_batches`;
      await this.#connection.run(`CREATE OR REPLACE VIEW ${raw} AS ${source}`);
      if (table === 'instances') {
        await this.#connection.run(
          `CREATE OR REPLACE VIEW instances AS SELECT * FROM ${raw}`,
        );
      } else {
        const key = SCHEMAS[table].key.map((k) => `"${k}"`).join(', ');
        await this.#connection.run(
          `CREATE OR REPLACE VIEW ${table} AS SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY batch DESC) AS rn FROM ${raw}) WHERE rn = 1`,
        );
      }
    }
    this.#viewsFor = signature;
  }

  /** Runs parameterised SQL and returns plain row objects. */
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

  async #run(
    sql: string,
    params: DuckDBValue[],
  ): Promise<Array<Record<string, Plain>>> {
    await this.refresh();
    const reader = await this.#connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS().map((row) => {
      const out: Record<string, Plain> = {};
      for (const [k, v] of Object.entries(row)) out[k] = plain(v);
      return out;
    });
  }

  /**
   * Refuses new queries, lets running ones finish (interrupting any still
   * running after a second), then closes DuckDB.
   * Closing under a running query is not safe: DuckDB then destroys the
   * connection on the thread running the query while holding its lock, and
   * that thread never ends (process.exit waits on it forever).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A long query gets a second, then is interrupted (it rejects).
      const grace = setTimeout(() => this.#connection.interrupt(), 1000);
      grace.unref();
      while (this.#running.size > 0)
        await Promise.allSettled([...this.#running]);
      clearTimeout(grace);
      this.#connection.closeSync();
      this.#instance.closeSync();
    })();
    return this.#closing;
  }
}
