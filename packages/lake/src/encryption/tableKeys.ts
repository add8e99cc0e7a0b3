import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { writeFileAtomic } from '../fsutil';
import { sqlString } from '../sqlString';
import { openLakeCipher } from './openLakeCipher';

/**
 * Keys of an encrypted lake's Parquet tables. DuckDB writes the files with
 * Parquet modular encryption (AES-GCM, footer and columns; magic `PARE`)
 * under a key lpacs hands it, and reads them back given the same key.
 *
 * Every writer (one DuckDB instance: an ingest run, a compaction, an
 * erasure) gets a fresh random 256-bit key from Node's CSPRNG, named in
 * its files (`part-0.k<id>.parquet`) and kept in `keys/tables/<id>.key`
 * sealed under the lake's data key (so KEK rotation covers it). DuckDB
 * without httpfs writes encrypted Parquet only through its bundled mbedtls
 * (`force_mbedtls_unsafe`), whose random numbers DuckDB does not vouch for
 * as key material; lpacs never uses them as keys, and a key serves one
 * writer only, so a weak nonce source could at worst repeat a nonce within
 * one DuckDB instance's own sequence, not across the lake.
 */
export interface TableKeys {
  /** A new key for one writer, registered on `conn`; returns its id. */
  forWriter(conn: DuckDBConnection): Promise<string>;
  /** Registers the keys with these ids on `conn` (once per instance). */
  register(conn: DuckDBConnection, ids: Iterable<string>): Promise<void>;
}

const KEY_ID = /^[0-9a-f]{16}$/;
const FILE_KEY = /\.k([0-9a-f]{16})\.parquet$/;

/** The Parquet file name of a batch: the key id in it when encrypted. */
export function parquetFileName(keyId: string | undefined): string {
  return keyId ? `part-0.k${keyId}.parquet` : 'part-0.parquet';
}

/** The key id a Parquet file was written under, or undefined (clear). */
export function keyIdOf(file: string): string | undefined {
  return FILE_KEY.exec(file)?.[1];
}

const registered = new WeakMap<DuckDBConnection, Set<string>>();

/** The table keys of an encrypted lake, or undefined for a lake in the clear. */
export function tableKeys(root: string): TableKeys | undefined {
  const cipher = openLakeCipher(root);
  if (!cipher) return undefined;
  const dir = join(root, 'keys', 'tables');
  const load = (id: string): Buffer => {
    if (!KEY_ID.test(id)) throw new Error(`bad table key id ${id}`);
    return cipher.open(
      readFileSync(join(dir, `${id}.key`)),
      `keys/tables/${id}.key`,
    );
  };
  const add = async (conn: DuckDBConnection, id: string, key: Buffer) => {
    const seen = registered.get(conn) ?? new Set<string>();
    registered.set(conn, seen);
    if (seen.has(id)) return;
    await conn.run(
      `PRAGMA add_parquet_key(${sqlString(id)}, ${sqlString(key.toString('base64'))})`,
    );
    seen.add(id);
  };
  return {
    async forWriter(conn) {
      const id = randomBytes(8).toString('hex');
      const key = randomBytes(32);
      await writeFileAtomic(join(dir, `${id}.key`), cipher.seal(key), 0o600);
      await conn.run('SET force_mbedtls_unsafe = true');
      await add(conn, id, key);
      return id;
    },
    async register(conn, ids) {
      for (const id of new Set(ids)) await add(conn, id, load(id));
    },
  };
}

/**
 * A query (`SELECT * FROM read_parquet(...)`) over Parquet files, encrypted
 * or not: files are grouped by key (one `read_parquet` per key, UNION ALL
 * BY NAME), the keys registered on `conn`. `files` are paths or globs; a
 * glob's key is read from its name like a file's.
 */
export async function parquetSource(
  files: readonly string[],
  options: { keys?: TableKeys; conn?: DuckDBConnection; hive?: boolean },
): Promise<string> {
  const hive = options.hive ? ', hive_partitioning = true' : '';
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const id = keyIdOf(f) ?? '';
    groups.set(id, [...(groups.get(id) ?? []), f]);
  }
  if (!options.keys || !options.conn) {
    if ([...groups.keys()].some(Boolean))
      throw new Error('encrypted Parquet read without the lake key');
    return `SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}]${hive}, union_by_name = true)`;
  }
  await options.keys.register(options.conn, [...groups.keys()].filter(Boolean));
  // No union_by_name within a key: one writer wrote all of a key's files
  // with one schema, and DuckDB 1.5.6 fails an encrypted scan that has
  // both union_by_name and a pushed-down filter ("dereference shared_ptr
  // that is NULL"). UNION ALL BY NAME joins writers of other versions.
  return [...groups.entries()]
    .map(
      ([id, list]) =>
        `SELECT * FROM read_parquet([${list.map(sqlString).join(', ')}]${hive}${id ? `, encryption_config = {footer_key: ${sqlString(id)}}` : ', union_by_name = true'})`,
    )
    .map((q) => `(${q})`)
    .join(' UNION ALL BY NAME ');
}

/** The Parquet files of a table directory (`batch=<id>/*.parquet`). */
export async function tableFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    if (!name.startsWith('batch=')) continue;
    for (const file of await readdir(join(dir, name)).catch(() => []))
      if (file.endsWith('.parquet')) out.push(join(dir, name, file));
  }
  return out.sort();
}

/**
 * A parenthesised subquery over every Parquet file of a table directory
 * of the lake at `root`, keys registered on `conn`; undefined when the
 * table has no file.
 */
export async function tableSource(
  root: string,
  dir: string,
  conn: DuckDBConnection,
  hive = false,
): Promise<string | undefined> {
  const files = await tableFiles(dir);
  if (!files.length) return undefined;
  return `(${await parquetSource(files, { keys: tableKeys(root), conn, hive })})`;
}
