import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openLakeCipher } from './encryption/openLakeCipher';
import { tableSource } from './encryption/tableKeys';
import { fsyncPath } from './fsutil';
import { LakeError, LakeErrorCode } from './LakeError';
import type { LakeLayout } from './LakeLayout';
import { openDuckDB } from './openDuckDB';

/** What a sweep of `objects/` found and removed. */
export interface Sweep {
  /** Objects kept: an instance row or a quarantine record names each. */
  kept: number;
  /** Objects no row or record names, deleted. */
  removed: number;
  /** Bytes the deleted objects took on disk. */
  bytesFreed: number;
}

const PREFIX = /^[0-9a-f]{2}$/;
const OBJECT = /^[0-9a-f]{64}\.dcm$/;
const OBJECT_KEY = /objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.dcm/g;

/** Every object key the current `instances` table names. */
async function indexedKeys(layout: LakeLayout): Promise<Set<string>> {
  const keys = new Set<string>();
  const db = await openDuckDB(1);
  const conn = await db.connect();
  try {
    const source = await tableSource(
      layout.root,
      layout.table('instances'),
      conn,
    );
    if (!source) return keys;
    const rows = (
      await conn.runAndReadAll(`SELECT DISTINCT object_key FROM ${source}`)
    ).getRowObjectsJS();
    for (const r of rows) keys.add(String(r.object_key));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return keys;
}

/**
 * Every object key a quarantine record names: a CONFLICT keeps the
 * version it refused as an object, found only through its record.
 * @throws LakeError LAKE_CORRUPT for a record that cannot be read: what it
 * names is unknown, so nothing may be deleted.
 */
async function quarantinedKeys(layout: LakeLayout): Promise<Set<string>> {
  const keys = new Set<string>();
  const cipher = openLakeCipher(layout.root);
  for (const id of await readdir(layout.quarantine).catch(() => [])) {
    const path = join(layout.quarantine, id, 'reason.json');
    let stored: Buffer;
    try {
      stored = await readFile(path);
    } catch (err) {
      // No record: an entry a crash interrupted before its reason, which
      // is then a refused file, never a CONFLICT (kept as its record only).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `quarantine record ${id} cannot be read (${code ?? 'error'}), so the objects it may name are unknown; nothing was removed`,
      );
    }
    let message: unknown;
    try {
      const text = cipher
        ? cipher.open(stored, `quarantine/${id}`).toString('utf8')
        : stored.toString('utf8');
      message = (JSON.parse(text) as { message?: unknown }).message;
    } catch {
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `quarantine record ${id} cannot be read, so the objects it may name are unknown; nothing was removed`,
      );
    }
    for (const key of String(message).match(OBJECT_KEY) ?? []) keys.add(key);
  }
  return keys;
}

/**
 * Deletes every object under `objects/` that no row of the current
 * `instances` table and no quarantine record names: what a writer killed
 * before its commit stored (workers store objects ahead of the rows that
 * name them), or an erasure interrupted after its rows went. The caller
 * must hold the lake alone (no writer may be storing objects meanwhile).
 *
 * Releases and sync read objects through instance rows (a release's
 * manifest names objects its cohort's rows named), and only an erasure
 * removes rows, deleting their objects itself; masks and SEG objects live
 * under `masks/`. Nothing else names an object, so nothing else keeps one.
 */
export async function sweepObjects(layout: LakeLayout): Promise<Sweep> {
  // Records first: a record that cannot be read stops the sweep before
  // the index is even loaded.
  const named = await quarantinedKeys(layout);
  for (const key of await indexedKeys(layout)) named.add(key);
  const sweep: Sweep = { kept: 0, removed: 0, bytesFreed: 0 };
  const prefixes = await readdir(layout.objects).catch(() => []);
  for (const prefix of prefixes.filter((p) => PREFIX.test(p)).sort()) {
    const dir = join(layout.objects, prefix);
    let removed = false;
    for (const name of await readdir(dir)) {
      if (!OBJECT.test(name) || !name.startsWith(prefix)) continue;
      if (named.has(`objects/${prefix}/${name}`)) {
        sweep.kept++;
        continue;
      }
      const path = join(dir, name);
      sweep.bytesFreed += (await stat(path)).size;
      await rm(path, { force: true });
      sweep.removed++;
      removed = true;
    }
    if (removed) await fsyncPath(dir);
  }
  return sweep;
}
