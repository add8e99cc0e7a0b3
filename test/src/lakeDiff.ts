import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { filesUnder } from './helpers';

// Instances and attributes hold one row per instance (element): compared
// as multisets. Level tables are per-batch snapshots, so how often a
// series row repeats depends on how files fell into batches: compared as
// sets, which is what the catalog's views (one row per key) show.
const TABLES: Array<{ name: string; multiset: boolean; skip?: string }> = [
  { name: 'instances', multiset: true, skip: 'ingested_at' },
  { name: 'attributes', multiset: true },
  { name: 'series', multiset: false },
  { name: 'studies', multiset: false },
  { name: 'patients', multiset: false },
];

function hasBatches(lake: string, table: string): boolean {
  const dir = join(lake, 'tables', table);
  return (
    existsSync(dir) && readdirSync(dir).some((n) => n.startsWith('batch='))
  );
}

function source(lake: string, table: string, skip?: string): string {
  const glob = join(lake, 'tables', table, '*', '*.parquet').replace(
    /'/g,
    "''",
  );
  // Without hive partitioning: the batch id in the path is not compared.
  const from = `read_parquet('${glob}', hive_partitioning = false)`;
  return `SELECT * ${skip ? `EXCLUDE (${skip}) ` : ''}FROM ${from}`;
}

function quarantine(lake: string): string[] {
  const dir = join(lake, 'quarantine');
  return readdirSync(dir)
    .map((id) => {
      const r = JSON.parse(
        readFileSync(join(dir, id, 'reason.json'), 'utf8'),
      ) as { code: string; message: string; source: string };
      return `${id} ${r.code} ${r.source} ${r.message}`;
    })
    .sort();
}

/**
 * How lake `a` differs from lake `b` (made from the same inputs under the
 * same site secret), ignoring batch ids and ingest times: rows of every
 * table, object files (each checked against its SHA-256 name),
 * quarantine records; and what `a` should not hold (duplicate SOP
 * Instance UIDs, leftover staging, journals or lock entries). Empty when
 * they match.
 */
export async function lakeDifferences(a: string, b: string): Promise<string[]> {
  const out: string[] = [];
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const count = async (sql: string) =>
    Number(
      (
        await conn.runAndReadAll(`SELECT count(*) AS n FROM (${sql})`)
      ).getRowObjectsJS()[0]?.n ?? 0,
    );
  try {
    for (const t of TABLES) {
      const inA = hasBatches(a, t.name);
      const inB = hasBatches(b, t.name);
      if (!inA || !inB) {
        if (inA !== inB) out.push(`${t.name}: rows in only one lake`);
        continue;
      }
      const op = t.multiset ? 'EXCEPT ALL' : 'EXCEPT';
      const sa = source(a, t.name, t.skip);
      const sb = source(b, t.name, t.skip);
      const onlyA = await count(`${sa} ${op} ${sb}`);
      const onlyB = await count(`${sb} ${op} ${sa}`);
      if (onlyA || onlyB)
        out.push(`${t.name}: ${onlyA} rows only in a, ${onlyB} only in b`);
    }
    if (hasBatches(a, 'instances')) {
      const uids = source(a, 'instances');
      const dup = await count(
        `SELECT "SOPInstanceUID" FROM (${uids}) GROUP BY 1 HAVING count(*) > 1`,
      );
      if (dup) out.push(`instances: ${dup} SOP Instance UIDs more than once`);
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  const objects = (lake: string) =>
    filesUnder(join(lake, 'objects'))
      .map((f) => relative(lake, f))
      .sort();
  const objectsA = objects(a);
  const objectsB = objects(b);
  if (JSON.stringify(objectsA) !== JSON.stringify(objectsB))
    out.push(`objects: ${objectsA.length} files in a, ${objectsB.length} in b`);
  for (const key of objectsA) {
    const sha = createHash('sha256')
      .update(readFileSync(join(a, key)))
      .digest('hex');
    if (!key.endsWith(`${sha}.dcm`))
      out.push(`${key}: content is not its name`);
  }
  const qa = quarantine(a);
  const qb = quarantine(b);
  if (JSON.stringify(qa) !== JSON.stringify(qb))
    out.push(`quarantine: ${JSON.stringify(qa)} against ${JSON.stringify(qb)}`);
  for (const dir of ['staging', 'journal', 'locks']) {
    const left = existsSync(join(a, dir)) ? readdirSync(join(a, dir)) : [];
    if (left.length) out.push(`${dir}/ left: ${left.join(', ')}`);
  }
  return out;
}
