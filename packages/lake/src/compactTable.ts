import {
  lstat,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { fsyncPath } from './fsutil';
import { noteTablesChanged } from './tableChanges';
import type { LakeLayout } from './LakeLayout';
import { SCHEMAS } from './schemas';
import type { TableName } from './types';
import { openDuckDB } from './openDuckDB';
import {
  parquetFileName,
  tableKeys,
  tableSource,
} from './encryption/tableKeys';
import { sqlString } from './sqlString';

const VERSION = /^\.(.+)\.v(\d+)$/;

/** What one compaction did. */
export interface Compaction {
  table: TableName;
  batchesBefore: number;
  batchesAfter: number;
  rows: number;
}

/** The rows of one table version (its Parquet files, sealed or not). */
async function countRows(root: string, dir: string): Promise<number> {
  const db = await openDuckDB(1);
  const conn = await db.connect();
  try {
    const source = await tableSource(root, dir, conn);
    if (!source) return 0;
    const reader = await conn.runAndReadAll(
      `SELECT count(*) AS n FROM ${source}`,
    );
    return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/**
 * The version directory `tables/<table>` points at, creating the link on a
 * new lake. Tables are symlinks to `.<table>.v<N>` so a compaction can
 * swap a whole new version in with one atomic rename.
 */
export async function currentVersion(
  layout: LakeLayout,
  table: TableName,
): Promise<string | undefined> {
  const link = layout.table(table);
  try {
    const info = await lstat(link);
    if (!info.isSymbolicLink()) return undefined; // a lake from before versions
    return await readlink(link);
  } catch {
    const first = `.${table}.v1`;
    await mkdir(join(layout.tables, first), { recursive: true });
    await symlink(first, link);
    return first;
  }
}

/**
 * Merges all of a table's batches into one, and swaps it in atomically: a
 * reader sees the old version or the new one, never a missing or doubled
 * row. Level tables keep each key's latest row. The version before the
 * previous one is deleted; the previous one stays for readers that listed
 * its files just before the swap. Must run under the lake's write lock.
 */
export async function compactTable(
  layout: LakeLayout,
  table: TableName,
  batchId: string,
  /**
   * Rows to drop (an SQL condition over the table's columns, values
   * already validated by the caller). With it the table is rewritten even
   * from one batch, and every older version is deleted: an erasure leaves
   * no copy of the rows behind.
   */
  drop?: string,
  /**
   * Rows to write in place of dropped ones: a SELECT of the table's
   * columns, built on the compaction's connection (an erasure's level
   * rows made again from the instances left; see Lake.eraseRows).
   */
  add?: (conn: DuckDBConnection) => Promise<string | undefined>,
): Promise<Compaction> {
  const current = await currentVersion(layout, table);
  const link = layout.table(table);
  const batches = (await readdir(link)).filter((n) => n.startsWith('batch='));
  const result: Compaction = {
    table,
    batchesBefore: batches.length,
    batchesAfter: batches.length,
    rows: 0,
  };
  // Nothing to merge: the count is still read, so a report of an already
  // compacted table does not read as a table that lost its rows.
  if (batches.length === 1 && !drop) {
    result.rows = await countRows(layout.root, link);
    return result;
  }
  if (current === undefined || (batches.length <= 1 && !drop)) return result;
  if (batches.length === 0) return result;
  const n = Number(VERSION.exec(current)?.[2] ?? '1');
  const next = `.${table}.v${n + 1}`;
  const nextDir = join(layout.tables, next);
  await rm(nextDir, { recursive: true, force: true });
  const target = join(nextDir, `batch=${batchId}`);
  await mkdir(target, { recursive: true });
  const db = await openDuckDB(1);
  const conn = await db.connect();
  let file: string;
  try {
    // In an encrypted lake the merged file gets a key of its own.
    const keyId = await tableKeys(layout.root)?.forWriter(conn);
    file = join(target, parquetFileName(keyId));
    const footer = keyId ? `{footer_key: ${sqlString(keyId)}}` : undefined;
    const all = (await tableSource(
      layout.root,
      join(layout.tables, current),
      conn,
      true,
    ))!;
    const added = await add?.(conn);
    const kept = drop
      ? `(SELECT * FROM ${all} WHERE NOT coalesce((${drop}), false))`
      : all;
    const source = added
      ? `(SELECT * FROM ${kept} UNION ALL BY NAME SELECT *, ${sqlString(batchId)} AS batch FROM (${added}))`
      : kept;
    const key = SCHEMAS[table].key.map((k) => `"${k}"`).join(', ');
    const select =
      table === 'instances'
        ? `SELECT * EXCLUDE (batch) FROM ${source}`
        : `SELECT * EXCLUDE (rn, batch) FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY batch DESC) AS rn FROM ${source}) WHERE rn = 1`;
    await conn.run(
      `COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd${footer ? `, ENCRYPTION_CONFIG ${footer}` : ''})`,
    );
    const reader = await conn.runAndReadAll(
      `SELECT count(*) AS n FROM read_parquet(${sqlString(file)}${footer ? `, encryption_config = ${footer}` : ''})`,
    );
    result.rows = Number(reader.getRowObjectsJS()[0]?.n ?? 0);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  await fsyncPath(file);
  await fsyncPath(target);
  await fsyncPath(nextDir);
  const tmpLink = join(layout.tables, `.${table}.link.tmp`);
  await rm(tmpLink, { force: true });
  await symlink(next, tmpLink);
  await rename(tmpLink, link); // the swap: one atomic rename
  noteTablesChanged();
  await fsyncPath(layout.tables);
  for (const name of await readdir(layout.tables)) {
    const m = VERSION.exec(name);
    if (m && m[1] === table && Number(m[2]) < (drop ? n + 1 : n))
      await rm(join(layout.tables, name), { recursive: true, force: true });
  }
  result.batchesAfter = 1;
  return result;
}
