import { lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LakeError, LakeErrorCode } from './LakeError';

/** A folder entry as `readdir(..., { withFileTypes: true })` gives it. */
export interface FolderEntry {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

function has(
  entries: readonly FolderEntry[],
  name: string,
  kind: 'file' | 'folder',
): boolean {
  return entries.some(
    (e) => e.name === name && (kind === 'file' ? e.isFile() : e.isDirectory()),
  );
}

/**
 * True when a folder's entries are those of an lpacs lake (see
 * LakeLayout): `tables/` beside either the settings (`lake.json`) or the
 * `objects/` and `locks/` folders every writer creates before settings
 * are written. Both halves are needed, so a folder of images that merely
 * holds a `tables` folder is not taken for a lake.
 */
export function isLakeListing(entries: readonly FolderEntry[]): boolean {
  if (!has(entries, 'tables', 'folder')) return false;
  return (
    has(entries, 'lake.json', 'file') ||
    (has(entries, 'objects', 'folder') && has(entries, 'locks', 'folder'))
  );
}

/**
 * True when a folder's entries are those of an lpacs backup (see
 * backupLake): a lake's folders beside `snapshots/`, which no lake holds.
 */
export function isBackupListing(entries: readonly FolderEntry[]): boolean {
  return isLakeListing(entries) && has(entries, 'snapshots', 'folder');
}

/** True when `root`, a lake's root by isLakeListing, is a backup's. */
export async function isBackupRoot(root: string): Promise<boolean> {
  const info = await lstat(join(root, 'snapshots')).catch(() => undefined);
  return info?.isDirectory() ?? false;
}

/** The names isLakeListing looks at, `tables` first: most folders lack it. */
const MARKERS = ['tables', 'lake.json', 'objects', 'locks'];

/**
 * True when `dir` is a lake's root, by isLakeListing's rule, from a stat
 * of each name it looks at rather than a listing of a folder that may
 * hold thousands of files. lstat, as a listing sees entries: a link
 * named `tables` is not a lake's folder.
 */
async function isLakeRoot(
  dir: string,
  known: Map<string, boolean>,
): Promise<boolean> {
  const cached = known.get(dir);
  if (cached !== undefined) return cached;
  const entries: FolderEntry[] = [];
  for (const name of MARKERS) {
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (!info) {
      if (name === 'tables') break;
      continue;
    }
    entries.push({
      name,
      isDirectory: () => info.isDirectory(),
      isFile: () => info.isFile(),
    });
  }
  const lake = isLakeListing(entries);
  known.set(dir, lake);
  return lake;
}

/**
 * The root of the lpacs lake that holds `realPath` (a real path, as
 * `realpath` gives it): the path itself or its nearest ancestor that is
 * a lake, up to the file system root; undefined when none is.
 * @param known - what earlier calls found of each folder, so that many
 * paths below the same folders cost a stat or so each
 */
export async function lakeHolding(
  realPath: string,
  known: Map<string, boolean> = new Map(),
): Promise<string | undefined> {
  for (let dir = realPath; ; dir = dirname(dir)) {
    if (await isLakeRoot(dir, known)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The names a lake's root holds (LakeLayout, and the audit log beside
 * it). A folder holding only these is a lake, or one being set up: a
 * site secret copied into `keys/` ahead of the first ingest, so a second
 * lake gives patients the same pseudonyms.
 */
const LAKE_NAMES = new Set([
  'audit',
  'journal',
  'keys',
  'lake.json',
  'locks',
  'masks',
  'models',
  'objects',
  'quarantine',
  'releases',
  'staging',
  'state',
  'tables',
]);

/**
 * Checks that a lake may be created or opened for writing at `root`: a
 * folder that does not exist yet, a lake (its `tables/` or `lake.json`,
 * as for reading), or one that holds nothing but a lake's own entries
 * (none, or a lake being set up). Hidden files and
 * `lost+found` (the root of a new file system) are not counted.
 * @throws LakeError NOT_A_LAKE for a folder holding anything else: a lake
 * would be written in among someone's files, and an ingest of that folder
 * would read the lake's own files as input.
 */
export async function checkLakeRoot(root: string): Promise<void> {
  let entries: FolderEntry[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return; // missing (created next) or not a folder (reported as unwritable)
  }
  // A lake already made stays writable whatever else was put beside it.
  if (entries.some((e) => e.name === 'tables' || e.name === 'lake.json'))
    return;
  const other = entries.filter(
    (e) =>
      !LAKE_NAMES.has(e.name) &&
      !e.name.startsWith('.') &&
      e.name !== 'lost+found',
  );
  if (!other.length) return;
  throw new LakeError(
    LakeErrorCode.NotALake,
    `${root} is not an lpacs lake and holds ${other.length} other ${other.length === 1 ? 'entry' : 'entries'}; a lake is created only in a new or empty folder (give --lake one)`,
  );
}
