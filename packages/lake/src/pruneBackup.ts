import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { listSnapshots, readManifest, storedAt } from './backupLake';
import { writeBackupLedger, snapshotTime } from './backupLedger';
import { lockForPrune } from './backupLocks';
import { DirTarget } from './backupTarget';
import type { BackupTarget } from './backupTarget';
import { writeFileAtomic } from './fsutil';
import { inParallel } from './inParallel';
import { LakeLayout } from './LakeLayout';

/**
 * Which snapshots to delete. `snapshots`, `before` and `all` always
 * delete what they name; `olderThanDays` deletes snapshots older than
 * that, except the newest `keepLast`; `keepLast` alone deletes all but
 * the newest `keepLast`.
 */
export interface PruneSelection {
  snapshots?: readonly string[];
  keepLast?: number;
  olderThanDays?: number;
  /**
   * An instant (ISO 8601): every snapshot begun before it goes, so none
   * still holds what an erasure that finished then removed.
   */
  before?: string;
  /** Every snapshot; also allows a selection to leave none. */
  all?: boolean;
}

/** How a prune runs. */
export interface PruneOptions {
  /** Only say what would go. */
  dryRun?: boolean;
  /** The lake whose backup ledger and last backup record to update. */
  lake?: string;
  now?: Date;
}

/** What a prune deleted (or, dry, would delete). */
export interface PruneReport {
  target: string;
  dryRun: boolean;
  /** Snapshots deleted, oldest first (with those `resumed`). */
  deleted: string[];
  /** Snapshots an interrupted prune had chosen, finished by this one. */
  resumed: string[];
  kept: string[];
  /** Files deleted besides the snapshots' own (none a kept snapshot names). */
  files: number;
  /** Bytes of every file deleted, the snapshots' own included. */
  bytes: number;
  seconds: number;
}

/** A prune refused before it changed anything: the reason is the message. */
export class PruneRefused extends Error {
  override readonly name = 'PruneRefused';
}

/** The chosen snapshots of a prune under way, until its sweep is done. */
const JOURNAL = 'prune.json';

/** The folders of a backup that hold snapshot files. */
const SWEPT = ['tables', 'objects', 'blobs'];

async function readJournal(target: BackupTarget): Promise<string[]> {
  const text = await target.readText(JOURNAL);
  if (!text) return [];
  try {
    return (JSON.parse(text) as { snapshots: string[] }).snapshots;
  } catch {
    throw new Error(
      `${target.locate(JOURNAL)} is not valid JSON: it lists the snapshots an interrupted prune was deleting; check it, delete it and prune again`,
    );
  }
}

/**
 * Refuses what is not a backup (before anything is written there), so no
 * folder of anything else is swept.
 */
async function checkIsBackup(target: BackupTarget): Promise<void> {
  if ((await listSnapshots(target)).length) return;
  if ((await target.size(JOURNAL)) !== undefined) return;
  if (!(target instanceof DirTarget))
    throw new PruneRefused(
      `no snapshot in ${target.name}: it is not an lpacs backup, or every snapshot was deleted (lpacs backup writes snapshots/<id>.json for each)`,
    );
  const here = (p: string) => existsSync(target.locate(p));
  throw new PruneRefused(
    !here('')
      ? `${target.name} does not exist`
      : here('snapshots')
        ? `${target.name} holds no snapshot (every one was deleted): nothing to prune`
        : here('lake.json') && here('tables')
          ? `${target.name} is a lake, not a backup: give the place lpacs backup wrote to`
          : `${target.name} is not an lpacs backup: it has no snapshots/ folder (lpacs backup writes snapshots/<id>.json for each snapshot)`,
  );
}

function choose(
  target: BackupTarget,
  ids: string[],
  pending: Set<string>,
  sel: PruneSelection,
  now: Date,
): Set<string> {
  const live = ids.filter((id) => !pending.has(id));
  const chosen = new Set<string>();
  for (const id of sel.snapshots ?? []) {
    if (pending.has(id)) continue;
    if (!ids.includes(id)) {
      const some = ids.slice(-5).join(', ');
      throw new PruneRefused(
        `no snapshot ${id} in ${target.name}; it has ${ids.length} (${ids.length > 5 ? `newest: ${some}` : some})`,
      );
    }
    chosen.add(id);
  }
  if (sel.all) live.forEach((id) => chosen.add(id));
  const keep = new Set(sel.keepLast ? live.slice(-sel.keepLast) : []);
  if (sel.olderThanDays !== undefined) {
    const cutoff = now.getTime() - sel.olderThanDays * 86_400_000;
    for (const id of live) {
      const t = snapshotTime(id);
      if (t && t.getTime() < cutoff && !keep.has(id)) chosen.add(id);
    }
  } else if (sel.keepLast !== undefined)
    for (const id of live) if (!keep.has(id)) chosen.add(id);
  if (sel.before !== undefined) {
    const cutoff = Date.parse(sel.before);
    for (const id of live) {
      // An id not of lpacs's form may be of any time: it goes too.
      const t = snapshotTime(id);
      if (!t || t.getTime() < cutoff) chosen.add(id);
    }
  }
  return chosen;
}

/**
 * What no snapshot of `keep` names: every file of tables/, objects/ and
 * blobs/ that none of their manifests lists, and every file of
 * snapshots/ but their own manifests and reader scripts (a killed
 * backup's script, temporary files).
 */
async function unreferenced(
  target: BackupTarget,
  keep: string[],
): Promise<Array<{ path: string; size: number }>> {
  const named = new Set<string>();
  for (const id of keep) {
    // A manifest that does not read stops the prune: its files would go.
    const manifest = await readManifest(target, id).catch(() => undefined);
    if (!manifest)
      throw new Error(
        `snapshot ${id} of ${target.name} could not be read (${target.locate(`snapshots/${id}.json`)}); nothing swept, since its files would go`,
      );
    for (const f of manifest.files) named.add(storedAt(f));
  }
  const own = new Set(keep.flatMap((id) => [`${id}.json`, `${id}.duckdb.sql`]));
  const out: Array<{ path: string; size: number }> = [];
  for (const dir of SWEPT)
    for (const f of await target.walk(dir)) if (!named.has(f.path)) out.push(f);
  for (const f of await target.walk('snapshots'))
    if (!own.has(f.path.slice('snapshots/'.length))) out.push(f);
  return out;
}

/**
 * The lake's record of its last backup, when this prune deleted the
 * snapshot it names: it then names the newest one left, or none.
 */
async function updateLastBackup(
  root: string,
  target: BackupTarget,
  deleted: string[],
  kept: string[],
): Promise<void> {
  const path = new LakeLayout(root).lastBackup;
  let last: { snapshot?: string; target?: string };
  try {
    last = JSON.parse(await readFile(path, 'utf8')) as typeof last;
  } catch {
    return;
  }
  if (last.target !== target.name || !deleted.includes(last.snapshot ?? ''))
    return;
  const newest = kept.at(-1);
  if (!newest) {
    await rm(path, { force: true });
    return;
  }
  const files = (await readManifest(target, newest))?.files ?? [];
  await writeFileAtomic(
    path,
    `${JSON.stringify({
      snapshot: newest,
      target: target.name,
      at: (snapshotTime(newest) ?? new Date()).toISOString(),
      files: files.length,
      bytes: files.reduce((n, f) => n + f.size, 0),
    })}\n`,
    0o600,
  );
}

/**
 * Deletes snapshots from a backup (a directory or S3 prefix), then every
 * file no remaining snapshot names. Crash-safe: the chosen ids are
 * written to `prune.json` first, their manifests deleted next (a snapshot
 * is gone once its manifest is), and only then are files swept, each
 * checked against the manifests left; the journal goes last. A prune
 * killed at any point leaves every other snapshot whole, and the next
 * prune, whatever it selects, finishes the interrupted one first. Holds
 * the backup's prune lock (see backupLocks): no backup writes into it
 * meanwhile.
 * @throws PruneRefused for a selection that names a snapshot not there,
 * or would leave none without `all`; nothing is deleted then.
 */
export async function pruneBackup(
  backup: string | BackupTarget,
  sel: PruneSelection,
  options: PruneOptions = {},
): Promise<PruneReport> {
  const started = Date.now();
  const target = typeof backup === 'string' ? new DirTarget(backup) : backup;
  const dryRun = options.dryRun === true;
  await checkIsBackup(target);
  const lock = dryRun ? undefined : await lockForPrune(target);
  try {
    const ids = await listSnapshots(target);
    const pendingList = await readJournal(target);
    const pending = new Set(pendingList);
    const chosen = choose(target, ids, pending, sel, options.now ?? new Date());
    const doomed = new Set([...pending, ...chosen]);
    const kept = ids.filter((id) => !doomed.has(id));
    if (!kept.length && chosen.size && !sel.all)
      throw new PruneRefused(
        `this would delete every snapshot of ${target.name} (${ids.length}), leaving none to restore: take a new backup first (lpacs backup ${target.name}), or add --all to delete them all`,
      );
    const resumed = pendingList.filter((id) => !chosen.has(id));
    const deleted = [...doomed].sort();
    if (dryRun) {
      const gone = await unreferenced(target, kept);
      return {
        target: target.name,
        dryRun,
        deleted,
        resumed,
        kept,
        files: gone.filter((f) => !f.path.startsWith('snapshots/')).length,
        bytes: gone.reduce((n, f) => n + f.size, 0),
        seconds: (Date.now() - started) / 1000,
      };
    }
    if (chosen.size)
      await target.putBytes(
        JOURNAL,
        Buffer.from(
          `${JSON.stringify({ snapshots: deleted, begun: new Date().toISOString() })}\n`,
        ),
      );
    // Manifests first: once its manifest is gone a snapshot is no longer
    // listed, restored or counted as naming its files.
    const sizes = new Map(
      (await target.walk('snapshots')).map((f) => [f.path, f.size]),
    );
    let bytes = 0;
    for (const id of deleted) {
      bytes += sizes.get(`snapshots/${id}.json`) ?? 0;
      await target.remove(`snapshots/${id}.json`);
    }
    // The snapshot files that are left, read again after the deletion.
    const left = await listSnapshots(target);
    const gone = await unreferenced(target, left);
    let files = 0;
    await inParallel(gone, 8, async (f) => {
      await target.remove(f.path);
      bytes += f.size;
      if (!f.path.startsWith('snapshots/')) files++;
    });
    await target.remove(JOURNAL);
    if (options.lake) {
      await writeBackupLedger(options.lake, target, left);
      await updateLastBackup(options.lake, target, deleted, left);
    }
    return {
      target: target.name,
      dryRun,
      deleted,
      resumed,
      kept: left,
      files,
      bytes,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await lock?.release();
  }
}
