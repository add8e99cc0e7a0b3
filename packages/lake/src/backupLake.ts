import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  copyFile,
  mkdir,
  open,
  readFile,
  readdir,
  realpath,
  rename,
  stat,
  rm,
  rmdir,
} from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { encryptionSettings } from './encryption/openLakeCipher';
import { writeFileAtomic } from './fsutil';
import { LakeLayout } from './LakeLayout';
import { inParallel } from './inParallel';
import { TABLE_NAMES } from './schemas';

/** One file of a snapshot: its path in the lake, size and SHA-256. */
export interface SnapshotFile {
  path: string;
  size: number;
  sha256: string;
}

/** What one backup run wrote and found. */
export interface BackupReport {
  snapshot: string;
  files: number;
  bytes: number;
  /** Files copied by this run; the rest were in the backup already. */
  copied: number;
  copiedBytes: number;
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

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

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

/** Path to SHA-256 of every file of the newest snapshot in `backup`. */
async function lastSnapshotHashes(
  backup: string,
): Promise<Map<string, string>> {
  const id = (await listSnapshots(backup)).at(-1);
  if (!id) return new Map();
  const { files } = JSON.parse(
    await readFile(join(backup, 'snapshots', `${id}.json`), 'utf8'),
  ) as { files: SnapshotFile[] };
  return new Map(files.map((f) => [f.path, f.sha256]));
}

/** Copies `from` to `to` unless a file of the same size is there; true if copied. */
async function copyIfNew(
  from: string,
  to: string,
  size: number,
): Promise<boolean> {
  try {
    if ((await stat(to)).size === size) return false;
  } catch {
    // not there yet
  }
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.part`;
  await copyFile(from, tmp);
  await rename(tmp, to);
  return true;
}

/** The first `size` bytes of a growing file, cut at its last whole line. */
async function copyPrefix(from: string, to: string): Promise<number> {
  const handle = await open(from, 'r');
  try {
    const { size } = await handle.stat();
    const buf = Buffer.alloc(size);
    await handle.read(buf, 0, size, 0);
    const end = buf.lastIndexOf(0x0a) + 1;
    await mkdir(dirname(to), { recursive: true });
    await writeFileAtomic(to, buf.subarray(0, end), 0o600);
    return end;
  } finally {
    await handle.close();
  }
}

/**
 * Takes a consistent, incremental snapshot of a lake into `dest` while
 * ingest and queries go on. Tables are listed first (their batch files
 * never change once committed), then objects are copied: an object is in
 * place before any row that names it commits, so every row of the
 * snapshot finds its object. Objects are named by their SHA-256, so one
 * already in the backup is not copied again. The audit log is copied up
 * to its last whole entry. `snapshots/<id>.json` lists every file with its
 * SHA-256; restore checks each one.
 */
export async function backupLake(
  root: string,
  dest: string,
): Promise<BackupReport> {
  const started = Date.now();
  const layout = new LakeLayout(root);
  // Milliseconds too: two backups in one second must not share a name.
  const snapshot = new Date().toISOString().replace(/[-:.]/g, '');
  const files: SnapshotFile[] = [];
  let copied = 0;
  let copiedBytes = 0;
  // An encrypted lake's objects are copied as stored (ciphertext, no KEK
  // needed), so their name is not the hash of the file: the snapshot holds
  // the ciphertext's, taken when copied and reused from the last snapshot.
  const sealed = encryptionSettings(root) !== undefined;
  const earlier = sealed
    ? await lastSnapshotHashes(dest)
    : new Map<string, string>();
  const add = async (
    path: string,
    from: string,
    to: string,
    known?: string,
  ) => {
    const { size } = await stat(from);
    const fresh = await copyIfNew(from, join(dest, to), size);
    if (fresh) {
      copied++;
      copiedBytes += size;
    }
    if (sealed && known) known = fresh ? undefined : earlier.get(path);
    files.push({
      path,
      size,
      sha256: known ?? (await sha256Of(join(dest, to))),
    });
  };
  // 1. Tables: the batch files of each table's current version.
  for (const table of TABLE_NAMES) {
    let dir: string;
    try {
      dir = await realpath(layout.table(table));
    } catch {
      continue;
    }
    for (const file of await walk(dir)) {
      const path = `tables/${table}/${file}`;
      await add(path, join(dir, file), path);
    }
  }
  // 2. Objects, by content: the name is the hash. Eight at a time: the
  // time of many small files is round trips, not bytes.
  await inParallel(await walk(layout.objects), COPY_LANES, async (file) => {
    const sha = /([0-9a-f]{64})\.dcm$/.exec(file)?.[1];
    await add(
      `objects/${file}`,
      join(layout.objects, file),
      `objects/${file}`,
      sha,
    );
  });
  // 3. Settings, state, keys, models, releases, quarantine.
  try {
    await add('lake.json', layout.settings, 'lake.json');
  } catch {
    // a lake without settings yet
  }
  for (const d of STATE_DIRS)
    for (const file of await walk(join(root, d))) {
      const path = `${d}/${file}`;
      // State files are replaced whole (atomic rename): copy each time.
      const to = join(dest, path);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(join(root, path), `${to}.part`);
      await rename(`${to}.part`, to);
      const { size } = await stat(to);
      copied++;
      copiedBytes += size;
      files.push({ path, size, sha256: await sha256Of(to) });
    }
  // 4. The audit log, up to its last whole entry.
  const audit = join(root, 'audit', 'audit.ndjson');
  try {
    const size = await copyPrefix(audit, join(dest, 'audit', 'audit.ndjson'));
    copied++;
    copiedBytes += size;
    files.push({
      path: 'audit/audit.ndjson',
      size,
      sha256: await sha256Of(join(dest, 'audit', 'audit.ndjson')),
    });
  } catch {
    // no audit log yet
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  await writeFileAtomic(
    join(dest, 'snapshots', `${snapshot}.json`),
    `${JSON.stringify({ snapshot, lake: root, files }, null, 1)}\n`,
    0o600,
  );
  // For monitoring (the age of the last backup); a lake this process may
  // not write to is still backed up.
  await writeFileAtomic(
    layout.lastBackup,
    `${JSON.stringify({ snapshot, at: new Date().toISOString(), files: files.length, bytes })}\n`,
    0o600,
  ).catch(() => undefined);
  return {
    snapshot,
    files: files.length,
    bytes,
    copied,
    copiedBytes,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The snapshots in a backup, oldest first. */
export async function listSnapshots(backup: string): Promise<string[]> {
  return (await readdir(join(backup, 'snapshots')).catch(() => []))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -5))
    .sort();
}

/**
 * Rebuilds a lake in `root` (which must not exist or be empty) from a
 * snapshot of a backup (default: the newest), checking the SHA-256 of
 * every file before it is placed.
 * @throws Error naming the first file that is missing or does not match.
 */
export async function restoreLake(
  backup: string,
  root: string,
  snapshot?: string,
): Promise<{
  snapshot: string;
  files: number;
  bytes: number;
  seconds: number;
}> {
  const started = Date.now();
  const id = snapshot ?? (await listSnapshots(backup)).at(-1);
  if (!id) throw new Error(`no snapshot in ${backup}`);
  const manifest = JSON.parse(
    await readFile(join(backup, 'snapshots', `${id}.json`), 'utf8'),
  ) as { files: SnapshotFile[] };
  if ((await readdir(root).catch(() => [])).length > 0)
    throw new Error(`${root} is not empty: restore into a new directory`);
  // Built beside the target and renamed into place: a restore that stops
  // on a bad file leaves nothing behind, and can simply be run again.
  const work = `${root}.restoring-${process.pid}`;
  const layout = new LakeLayout(work);
  try {
    await inParallel(manifest.files, COPY_LANES, async (f) => {
      const from = join(backup, f.path);
      const actual = await sha256Of(from).catch(() => 'missing');
      if (actual !== f.sha256)
        throw new Error(
          actual === 'missing'
            ? `${f.path} is missing from the backup`
            : `${f.path} does not match its checksum in snapshot ${id}`,
        );
      // Tables come back as version 1 of each, behind the usual link.
      const m = /^tables\/([^/]+)\/(.+)$/.exec(f.path);
      const to = m
        ? join(layout.tables, `.${m[1]}.v1`, m[2]!)
        : join(work, f.path);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to);
    });
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
