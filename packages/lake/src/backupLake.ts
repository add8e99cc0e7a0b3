import { createHash } from 'node:crypto';
import {
  mkdtemp,
  open,
  readdir,
  realpath,
  rename,
  stat,
  rm,
  rmdir,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeBackupLedger } from './backupLedger';
import { lockForBackup } from './backupLocks';
import { DirTarget, sha256Of } from './backupTarget';
import type { BackupTarget } from './backupTarget';
import {
  encryptionSettings,
  openLakeCipher,
} from './encryption/openLakeCipher';
import { createDestination, writeFileAtomic } from './fsutil';
import { LakeLayout } from './LakeLayout';
import { inParallel } from './inParallel';
import { TABLE_NAMES } from './schemas';

/**
 * One file of a snapshot: its path in the lake, size and SHA-256. Tables
 * and objects are stored at their path (they never change once written);
 * every other file (`blob`) at `blobs/<sha256>`, so no later backup can
 * change what a snapshot restores.
 */
export interface SnapshotFile {
  path: string;
  size: number;
  sha256: string;
  blob?: true;
}

/** Where a snapshot file is kept in the backup. */
export function storedAt(f: SnapshotFile): string {
  return f.blob ? `blobs/${f.sha256}` : f.path;
}

/** Options of a backup run. */
export interface BackupOptions {
  /**
   * Reads back every table and object file already in the backup and
   * copies again any whose SHA-256 differs (a damaged copy); without it a
   * file of the right size is taken as present.
   */
  verify?: boolean;
  /** Told once when the backup waits for a prune of its destination. */
  onWait?: (message: string) => void;
  /** Told after each file is handled (for a progress line). */
  onProgress?: (p: CopyProgress) => void;
}

/** How far a backup or restore has got. */
export interface CopyProgress {
  /** tables, objects or state (backup); files (restore). */
  phase: 'tables' | 'objects' | 'state' | 'files';
  /** Files of this phase handled, of `total`. */
  done: number;
  total: number;
  /** Files copied and their bytes so far (the whole run). */
  copied: number;
  copiedBytes: number;
  elapsedSeconds: number;
}

/** What one backup run wrote and found. */
export interface BackupReport {
  snapshot: string;
  files: number;
  bytes: number;
  /** Files copied by this run; the rest were in the backup already. */
  copied: number;
  copiedBytes: number;
  /** Damaged copies found and copied again (with `verify`). */
  repaired: number;
  seconds: number;
}

/** Files copied (and checked) at once by backup and restore. */
const COPY_LANES = 8;

/** Folders of a lake that a backup carries, besides tables and objects. */
const STATE_DIRS = [
  'state',
  'keys',
  'models',
  'releases',
  'quarantine',
  'masks',
];

/**
 * Files of those folders a backup leaves out: the first admin's password,
 * which `serve` leaves there for the operator to read once (sealed in an
 * encrypted lake; see the CLI's firstAdmin), has no place in copies kept
 * for years.
 */
const NOT_BACKED_UP: ReadonlySet<string> = new Set([
  'state/first-admin-password',
]);

async function walk(root: string, dir = root): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(root, path)));
    else if (
      e.isFile() &&
      !e.name.endsWith('.lock') &&
      !e.name.startsWith('.tmp-')
    )
      out.push(relative(root, path));
  }
  return out;
}

/** A snapshot's manifest, or undefined when the backup has no such snapshot. */
export async function readManifest(
  target: BackupTarget,
  id: string,
): Promise<{ files: SnapshotFile[] } | undefined> {
  const text = await target.readText(`snapshots/${id}.json`);
  return text ? (JSON.parse(text) as { files: SnapshotFile[] }) : undefined;
}

/** Path to SHA-256 of every file of the newest snapshot in `target`. */
async function lastSnapshotHashes(
  target: BackupTarget,
): Promise<Map<string, string>> {
  const id = (await listSnapshots(target)).at(-1);
  const manifest = id ? await readManifest(target, id) : undefined;
  return new Map((manifest?.files ?? []).map((f) => [f.path, f.sha256]));
}

/** The first bytes of a growing file, cut at its last whole line. */
async function readWholeLines(from: string): Promise<Buffer> {
  const handle = await open(from, 'r');
  try {
    const { size } = await handle.stat();
    const buf = Buffer.alloc(size);
    await handle.read(buf, 0, size, 0);
    return buf.subarray(0, buf.lastIndexOf(0x0a) + 1);
  } finally {
    await handle.close();
  }
}

/**
 * DuckDB views over exactly one snapshot's Parquet files, so another
 * engine reads the lake where the backup put it (see docs/scale.md).
 */
function viewsSql(
  target: BackupTarget,
  snapshot: string,
  files: SnapshotFile[],
  sealed: boolean,
): string {
  if (sealed)
    return [
      `-- lpacs snapshot ${snapshot}: this lake's tables are encrypted with keys`,
      '-- sealed under its KEK (docs/encryption.md). Restore the snapshot with',
      '-- lpacs restore and read the tables through lpacs, or share a release.',
      '',
    ].join('\n');
  const lines = [
    `-- lpacs snapshot ${snapshot}: each table of the lake as a DuckDB view over`,
    "-- exactly the Parquet files of this snapshot. s3:// paths need DuckDB's",
    '-- httpfs extension and an S3 secret (docs/scale.md).',
  ];
  for (const table of TABLE_NAMES) {
    const paths = files
      .filter((f) => f.path.startsWith(`tables/${table}/`))
      .map((f) => `'${target.locate(f.path).replace(/'/g, "''")}'`);
    lines.push(
      paths.length
        ? `CREATE OR REPLACE VIEW ${table} AS SELECT * FROM read_parquet([${paths.join(', ')}]);`
        : `-- ${table}: no rows in this snapshot`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Takes a consistent, incremental snapshot of a lake into `dest` (a
 * directory, or a prefix of an S3-compatible bucket) while ingest and
 * queries go on. Tables are listed first (their batch files never change
 * once committed), then objects are copied: an object is in place before
 * any row that names it commits, so every row of the snapshot finds its
 * object. Objects are named by their SHA-256, so one already in the backup
 * is not copied again. The audit log is copied up to its last whole entry.
 * `snapshots/<id>.json` lists every file with its SHA-256; restore checks
 * each one. `snapshots/<id>.duckdb.sql` names the snapshot's Parquet files
 * for other readers. Runs under the backup's lock (see backupLocks),
 * waiting while a prune of `dest` runs: a prune deletes what no snapshot
 * names yet.
 */
export async function backupLake(
  root: string,
  dest: string | BackupTarget,
  options: BackupOptions = {},
): Promise<BackupReport> {
  const target = typeof dest === 'string' ? new DirTarget(dest) : dest;
  const lock = await lockForBackup(target, options.onWait);
  try {
    return await takeSnapshot(root, target, options);
  } finally {
    await lock.release();
  }
}

async function takeSnapshot(
  root: string,
  target: BackupTarget,
  options: BackupOptions,
): Promise<BackupReport> {
  const started = Date.now();
  const layout = new LakeLayout(root);
  // Milliseconds too: two backups in one second must not share a name.
  const snapshot = new Date().toISOString().replace(/[-:.]/g, '');
  const files: SnapshotFile[] = [];
  let copied = 0;
  let copiedBytes = 0;
  let repaired = 0;
  // An encrypted lake's objects are copied as stored (ciphertext, no KEK
  // needed), so their name is not the hash of the file: the snapshot holds
  // the ciphertext's, taken when copied and reused from the last snapshot.
  const sealed = encryptionSettings(root) !== undefined;
  let phase: CopyProgress['phase'] = 'tables';
  let done = 0;
  let total = 0;
  const tick = () =>
    options.onProgress?.({
      phase,
      done: ++done,
      total,
      copied,
      copiedBytes,
      elapsedSeconds: (Date.now() - started) / 1000,
    });
  const begin = (next: CopyProgress['phase'], count: number) => {
    phase = next;
    done = 0;
    total = count;
  };
  const earlier = sealed
    ? await lastSnapshotHashes(target)
    : new Map<string, string>();
  const put = async (
    path: string,
    from: string,
    size: number,
    sha?: string,
  ) => {
    const sha256 = await target.putFile(path, from, size, sha);
    copied++;
    copiedBytes += size;
    return sha256;
  };
  // A file of the same size already there is taken to be this one: table
  // batch files and objects never change once written. With `verify` its
  // copy is read back, and copied again when damaged.
  const add = async (path: string, from: string, known?: string) => {
    const { size } = await stat(from);
    const name = sealed ? undefined : known;
    let sha256: string;
    if ((await target.size(path)) !== size)
      sha256 = await put(path, from, size, name);
    else if (options.verify) {
      const expected = name ?? (await sha256Of(from));
      if ((await target.hashOf(path)) === expected) sha256 = expected;
      else {
        sha256 = await put(path, from, size, name);
        repaired++;
      }
    } else
      sha256 = name ?? (known && earlier.get(path)) ?? (await sha256Of(from));
    files.push({ path, size, sha256 });
  };
  // 1. Tables: the batch files of each table's current version.
  const tableFiles: Array<[string, string]> = [];
  for (const table of TABLE_NAMES) {
    let dir: string;
    try {
      dir = await realpath(layout.table(table));
    } catch {
      continue;
    }
    for (const file of await walk(dir))
      tableFiles.push([`tables/${table}/${file}`, join(dir, file)]);
  }
  begin('tables', tableFiles.length);
  for (const [path, from] of tableFiles) {
    await add(path, from);
    tick();
  }
  // 2. Objects, by content: the name is the hash. Eight at a time: the
  // time of many small files is round trips, not bytes.
  const objectFiles = await walk(layout.objects);
  begin('objects', objectFiles.length);
  await inParallel(objectFiles, COPY_LANES, async (file) => {
    const sha = /([0-9a-f]{64})\.dcm$/.exec(file)?.[1];
    await add(`objects/${file}`, join(layout.objects, file), sha);
    tick();
  });
  // 3. Settings, state, keys, models, releases, quarantine, masks and the
  // audit log (up to its last whole entry): these change in place, so
  // each is kept by content, blobs/<sha256>, sent only when new.
  const blobs = new Set(await target.list('blobs'));
  // Files of the same content (two releases' identical data dictionaries,
  // say) are copied in parallel lanes: the second waits for the first's
  // copy instead of writing the same blob beside it.
  const copying = new Map<string, Promise<unknown>>();
  const blob = async (
    path: string,
    sha256: string,
    size: number,
    put: () => Promise<unknown>,
  ) => {
    if (!blobs.has(sha256)) {
      let copy = copying.get(sha256);
      if (!copy) {
        copy = put().then(() => {
          blobs.add(sha256);
          copied++;
          copiedBytes += size;
        });
        copying.set(sha256, copy);
      }
      await copy;
    }
    files.push({ path, size, sha256, blob: true });
  };
  const blobFile = async (path: string, from: string) => {
    const { size } = await stat(from);
    const sha256 = await sha256Of(from);
    await blob(path, sha256, size, () =>
      target.putFile(`blobs/${sha256}`, from, size, sha256),
    );
  };
  await blobFile('lake.json', layout.settings).catch(() => undefined);
  const others = STATE_DIRS.map(
    async (d) => [d, await walk(join(root, d))] as const,
  );
  const lists = await Promise.all(others);
  begin(
    'state',
    lists.reduce((n, [, list]) => n + list.length, 0),
  );
  for (const [d, list] of lists)
    await inParallel(list, COPY_LANES, async (file) => {
      if (!NOT_BACKED_UP.has(`${d}/${file}`))
        await blobFile(`${d}/${file}`, join(root, d, file));
      tick();
    });
  const audit = await readWholeLines(join(root, 'audit', 'audit.ndjson')).catch(
    () => undefined,
  );
  if (audit) {
    const sha256 = createHash('sha256').update(audit).digest('hex');
    await blob('audit/audit.ndjson', sha256, audit.length, () =>
      target.putBytes(`blobs/${sha256}`, audit),
    );
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  await target.putBytes(
    `snapshots/${snapshot}.duckdb.sql`,
    Buffer.from(viewsSql(target, snapshot, files, sealed)),
  );
  // Written last: a snapshot is listed only once all its files are there.
  await target.putBytes(
    `snapshots/${snapshot}.json`,
    Buffer.from(
      `${JSON.stringify({ snapshot, lake: root, files }, null, 1)}\n`,
    ),
  );
  // For monitoring (the age of the last backup, snapshots older than an
  // erasure); a lake this process may not write to is still backed up.
  await writeFileAtomic(
    layout.lastBackup,
    `${JSON.stringify({ snapshot, target: target.name, at: new Date().toISOString(), files: files.length, bytes })}\n`,
    0o600,
  ).catch(() => undefined);
  await writeBackupLedger(root, target, await listSnapshots(target)).catch(
    () => undefined,
  );
  return {
    snapshot,
    files: files.length,
    bytes,
    copied,
    copiedBytes,
    repaired,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * An encrypted snapshot's KEK is checked against its own data keys before
 * anything is copied (KEK_REQUIRED, KEK_WRONG): a restore that cannot
 * open the lake after copying would leave it without its table links.
 * Its settings and keys are fetched to a private temporary directory.
 */
async function checkKek(
  target: BackupTarget,
  files: SnapshotFile[],
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lpacs-restore-'));
  try {
    for (const path of ['lake.json', 'keys/data-keys.json']) {
      const f = files.find((x) => x.path === path);
      if (f) await target.getFile(storedAt(f), join(dir, path));
    }
    openLakeCipher(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The snapshots in a backup, oldest first. */
export async function listSnapshots(
  backup: string | BackupTarget,
): Promise<string[]> {
  const target = typeof backup === 'string' ? new DirTarget(backup) : backup;
  return (await target.list('snapshots'))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -5))
    .sort();
}

/**
 * Rebuilds a lake in `root` (which must not exist or be empty) from a
 * snapshot of a backup (default: the newest), checking the SHA-256 of
 * every file before it is placed. The source lake's backup records
 * (state/last-backup.json, state/backups/) are checked, then left out:
 * they are the source's, so the new lake starts never backed up (its
 * /metrics, lpacs status) until its own first backup.
 * @throws Error naming the first file that is missing or does not match.
 */
export async function restoreLake(
  backup: string | BackupTarget,
  root: string,
  snapshot?: string,
  onProgress?: (p: CopyProgress) => void,
): Promise<{
  snapshot: string;
  files: number;
  bytes: number;
  seconds: number;
}> {
  const started = Date.now();
  const target = typeof backup === 'string' ? new DirTarget(backup) : backup;
  const id = snapshot ?? (await listSnapshots(target)).at(-1);
  if (!id) throw new Error(`no snapshot in ${target.name}`);
  const manifest = await readManifest(target, id);
  if (!manifest) throw new Error(`no snapshot ${id} in ${target.name}`);
  if ((await readdir(root).catch(() => [])).length > 0)
    throw new Error(`${root} is not empty: restore into a new directory`);
  await checkKek(target, manifest.files);
  // Built beside the target and renamed into place: a restore that stops
  // on a bad file leaves nothing behind, and can simply be run again.
  const work = `${root}.restoring-${process.pid}`;
  const layout = new LakeLayout(work);
  let copied = 0;
  let copiedBytes = 0;
  // Made with checks first: the recursive mkdirs below would spin on a
  // pseudo file system (--lake /proc/nope).
  await createDestination(work, `restoring ${root} needs its working folder`);
  try {
    await inParallel(manifest.files, COPY_LANES, async (f) => {
      // Tables come back as version 1 of each, behind the usual link.
      const m = /^tables\/([^/]+)\/(.+)$/.exec(f.path);
      const to = m
        ? join(layout.tables, `.${m[1]}.v1`, m[2]!)
        : join(work, f.path);
      const actual = await target.getFile(storedAt(f), to);
      if (actual !== f.sha256)
        throw new Error(
          actual === undefined
            ? `${f.path} is missing from the backup`
            : `${f.path} does not match its checksum in snapshot ${id}`,
        );
      copied++;
      copiedBytes += f.size;
      onProgress?.({
        phase: 'files',
        done: copied,
        total: manifest.files.length,
        copied,
        copiedBytes,
        elapsedSeconds: (Date.now() - started) / 1000,
      });
    });
    await rm(layout.lastBackup, { force: true });
    await rm(layout.backupLedgers, { recursive: true, force: true });
    await rmdir(root).catch(() => undefined); // an empty target, if given
    await rename(work, root);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  return {
    snapshot: id,
    files: manifest.files.length,
    bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    seconds: (Date.now() - started) / 1000,
  };
}
