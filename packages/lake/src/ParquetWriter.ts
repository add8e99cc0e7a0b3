import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Row, TableSchema } from './types';
import { openDuckDB } from './openDuckDB';
import { sqlString } from './sqlString';

/**
 * Writes rows to Parquet through an in-process DuckDB.
 */
export class ParquetWriter {
  #instance: DuckDBInstance | undefined;
  #connection: DuckDBConnection | undefined;
  #connecting: Promise<DuckDBConnection> | undefined;
  #tables = 0;

  #connect(): Promise<DuckDBConnection> {
    this.#connecting ??= (async () => {
      this.#instance = await openDuckDB(1);
      this.#connection = await this.#instance.connect();
      return this.#connection;
    })();
    return this.#connecting;
  }

  /** Starts DuckDB now, so the first write does not wait for it. */
  async warm(): Promise<void> {
    await this.#connect();
  }

  /**
   * Writes `rows` to `path` (zstd Parquet) with the columns of `schema`.
   * Rows go through DuckDB's appender into a staging table (text and
   * numbers), then are cast to the schema's types on the way out: no JSON
   * is written or parsed, which matters for the attributes table's ~80
   * rows per instance.
   */
  async write(
    schema: TableSchema,
    rows: readonly Row[],
    path: string,
  ): Promise<void> {
    const connection = await this.#connect();
    const staging = `staging_${++this.#tables}`;
    const numeric = schema.columns.map(
      (c) => c.type === 'DOUBLE' || c.type === 'INTEGER' || c.type === 'BIGINT',
    );
    await connection.run(
      `CREATE TABLE ${staging} (${schema.columns
        .map((c, i) => `"${c.name}" ${numeric[i] ? 'DOUBLE' : 'VARCHAR'}`)
        .join(', ')})`,
    );
    try {
      const appender = await connection.createAppender(staging);
      try {
        for (const row of rows) {
          schema.columns.forEach((c, i) => {
            const v = row[c.name];
            if (v === undefined || v === null) appender.appendNull();
            else if (numeric[i]) {
              const n = Number(v);
              if (Number.isFinite(n)) appender.appendDouble(n);
              else appender.appendNull();
            } else appender.appendVarchar(String(v));
          });
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      const select = schema.columns
        .map((c) => `CAST("${c.name}" AS ${c.type}) AS "${c.name}"`)
        .join(', ');
      await connection.run(
        `COPY (SELECT ${select} FROM ${staging}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      await connection.run(`DROP TABLE ${staging}`);
    }
  }

  close(): void {
    this.#connection?.closeSync();
    this.#instance?.closeSync();
    this.#connection = undefined;
    this.#instance = undefined;
  }
}
