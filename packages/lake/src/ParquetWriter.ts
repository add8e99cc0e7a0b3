import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { rm, writeFile } from 'node:fs/promises';
import type { Row, TableSchema } from './types';
import { openDuckDB } from './openDuckDB';

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Writes rows to Parquet through an in-process DuckDB: the rows go to a
 * newline-delimited JSON file that DuckDB reads with the schema's types.
 */
export class ParquetWriter {
  #instance: DuckDBInstance | undefined;
  #connection: DuckDBConnection | undefined;
  #connecting: Promise<DuckDBConnection> | undefined;

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

  /** Writes `rows` to `path` (zstd Parquet) with the columns of `schema`. */
  async write(
    schema: TableSchema,
    rows: readonly Row[],
    path: string,
  ): Promise<void> {
    const json = `${path}.ndjson`;
    const names = schema.columns.map((c) => c.name);
    await writeFile(
      json,
      rows
        .map((row) =>
          JSON.stringify(
            Object.fromEntries(names.map((n) => [n, row[n] ?? null])),
          ),
        )
        .join('\n'),
    );
    const columns = schema.columns
      .map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`)
      .join(', ');
    const select = schema.columns.map((c) => `"${c.name}"`).join(', ');
    try {
      const connection = await this.#connect();
      await connection.run(
        `COPY (SELECT ${select} FROM read_json(${sqlString(json)}, format = 'newline_delimited', columns = {${columns}}))
         TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      await rm(json, { force: true });
    }
  }

  close(): void {
    this.#connection?.closeSync();
    this.#instance?.closeSync();
    this.#connection = undefined;
    this.#instance = undefined;
  }
}
