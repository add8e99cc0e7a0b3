import type {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
} from '@duckdb/node-api';
import type { Row, TableSchema } from './types';
import { openDuckDB } from './openDuckDB';
import { unpackAttributesSql } from './packedAttributes';
import type { PackedAttributes } from './packedAttributes';
import { sqlString } from './sqlString';
import {
  parquetFileName,
  parquetSource,
  tableKeys,
} from './encryption/tableKeys';
import type { TableKeys } from './encryption/tableKeys';

/**
 * Writes rows to Parquet through an in-process DuckDB. In an encrypted
 * lake (`root` given, see tableKeys) every file it writes is encrypted
 * under a key of its own, made when DuckDB starts.
 */
export class ParquetWriter {
  readonly #root: string | undefined;
  #keys: TableKeys | undefined;
  #keyId: string | undefined;
  #instance: DuckDBInstance | undefined;
  #connection: DuckDBConnection | undefined;
  #connecting: Promise<DuckDBConnection> | undefined;
  #tables = 0;

  constructor(root?: string) {
    this.#root = root;
  }

  #connect(): Promise<DuckDBConnection> {
    this.#connecting ??= (async () => {
      this.#instance = await openDuckDB(1);
      const connection = await this.#instance.connect();
      this.#keys = this.#root ? tableKeys(this.#root) : undefined;
      this.#keyId = await this.#keys?.forWriter(connection);
      this.#connection = connection;
      return connection;
    })();
    return this.#connecting;
  }

  /** The name to give a batch's file: it names the key when encrypted. */
  async fileName(): Promise<string> {
    await this.#connect();
    return parquetFileName(this.#keyId);
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
    const numeric = schema.columns.map(
      (c) => c.type === 'DOUBLE' || c.type === 'INTEGER' || c.type === 'BIGINT',
    );
    const select = schema.columns
      .map((c) => `CAST("${c.name}" AS ${c.type}) AS "${c.name}"`)
      .join(', ');
    await this.#stage(
      schema.columns.map((c, i) => ({
        name: c.name,
        type: numeric[i] ? 'DOUBLE' : 'VARCHAR',
      })),
      (appender) => {
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
      },
      (staging) => `SELECT ${select} FROM ${staging}`,
      path,
    );
  }

  /**
   * Writes the `attributes` table from packed rows (see packedAttributes):
   * one appended row per instance, split into its rows by DuckDB.
   */
  async writePackedAttributes(
    packed: readonly PackedAttributes[],
    path: string,
  ): Promise<void> {
    await this.#stage(
      [
        { name: 'SOPInstanceUID', type: 'VARCHAR' },
        { name: 'PatientID', type: 'VARCHAR' },
        { name: 'rows', type: 'VARCHAR' },
      ],
      (appender) => {
        for (const p of packed) {
          if (p.SOPInstanceUID === null) appender.appendNull();
          else appender.appendVarchar(p.SOPInstanceUID);
          if (p.PatientID === null) appender.appendNull();
          else appender.appendVarchar(p.PatientID);
          appender.appendVarchar(p.rows);
          appender.endRow();
        }
      },
      unpackAttributesSql,
      path,
    );
  }

  /**
   * Appends rows to a staging table of `columns`, then writes the result
   * of `select(staging)` to `path` as zstd Parquet.
   */
  async #stage(
    columns: ReadonlyArray<{ name: string; type: string }>,
    append: (appender: DuckDBAppender) => void,
    select: (staging: string) => string,
    path: string,
  ): Promise<void> {
    const connection = await this.#connect();
    const staging = `staging_${++this.#tables}`;
    await connection.run(
      `CREATE TABLE ${staging} (${columns
        .map((c) => `"${c.name}" ${c.type}`)
        .join(', ')})`,
    );
    try {
      const appender = await connection.createAppender(staging);
      try {
        append(appender);
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      await connection.run(
        `COPY (${select(staging)}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd${this.#keyId ? `, ENCRYPTION_CONFIG {footer_key: ${sqlString(this.#keyId)}}` : ''})`,
      );
    } finally {
      await connection.run(`DROP TABLE ${staging}`);
    }
  }

  /**
   * Runs a read-only query over Parquet files on the writer's DuckDB:
   * `query` gets a subquery reading `files` (encrypted or not).
   */
  async read(
    files: readonly string[],
    query: (source: string) => string,
  ): Promise<Array<Record<string, unknown>>> {
    const connection = await this.#connect();
    const source = await parquetSource(files, {
      keys: this.#keys,
      conn: connection,
    });
    return (
      await connection.runAndReadAll(query(`(${source})`))
    ).getRowObjectsJS();
  }

  close(): void {
    this.#connection?.closeSync();
    this.#instance?.closeSync();
    this.#connection = undefined;
    this.#instance = undefined;
  }
}
