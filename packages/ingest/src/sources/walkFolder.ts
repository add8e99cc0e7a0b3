import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { isBackupListing, isLakeListing, lakeHolding } from '@lpacs/lake';
import type { InputFile } from './InputFile';

/** What to do with the backup at `dir` instead of ingesting it. */
export function restoreHint(dir: string): string {
  return `lpacs restore ${dir} --lake NEWDIR makes a lake of it`;
}

/** What a folder walk leaves out, and whom it tells. */
export interface WalkOptions {
  /**
   * Real paths of folders never entered, nor anything below them: the lake
   * being written, whose own files (its site secret, its objects) must
   * never become input.
   */
  exclude?: readonly string[];
  /** Told once for each folder or link left out, with why. */
  onSkip?: (path: string, reason: string) => void;
}

/** True when real path `path` is `root` or lies below it. */
export function isWithin(path: string, root: string): boolean {
  return (
    path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
  );
}

interface Walk extends WalkOptions {
  /** Real paths of the folders entered so far: a link back is not followed. */
  entered: Set<string>;
  /** Folders known to be, or not to be, a lake's root (lakeHolding). */
  lakes: Map<string, boolean>;
}

/**
 * A link whose target cannot be reached, as an input carrying the
 * reason: counted and quarantined like a file that cannot be read,
 * rather than passed over. ENOENT, ENOTDIR and ELOOP say the link leads
 * nowhere; anything else (EACCES) that its target cannot be read.
 */
function brokenLink(path: string, err: unknown): InputFile {
  const code = (err as NodeJS.ErrnoException).code ?? 'ENOENT';
  return {
    source: path,
    error: ['ENOENT', 'ENOTDIR', 'ELOOP'].includes(code)
      ? {
          code: 'BROKEN_LINK',
          message: `a symbolic link to nothing that exists (${code})`,
        }
      : {
          code: 'UNREADABLE',
          message: `cannot read the link's target (${code})`,
        },
  };
}

/**
 * Why the walk does not follow a link to real path `to`, if it does not.
 * A file is no lake's root: the search starts at its folder, which the
 * links beside it share, so a folder of links costs no stat per link.
 */
async function linkOut(
  to: string,
  folder: boolean,
  w: Walk,
): Promise<string | undefined> {
  if (w.exclude?.some((root) => isWithin(to, root)))
    return 'a link into the lake this run writes';
  const lake = await lakeHolding(folder ? to : dirname(to), w.lakes);
  if (lake === undefined) return undefined;
  return to === lake
    ? `a link to the lpacs lake ${lake}`
    : `a link into the lpacs lake ${lake}`;
}

async function* walk(
  dir: string,
  real: string,
  linked: boolean,
  w: Walk,
): AsyncGenerator<InputFile> {
  const lake = w.exclude?.find((root) => isWithin(real, root));
  if (lake !== undefined) {
    w.onSkip?.(
      dir,
      real === lake
        ? 'it is the lake this run writes'
        : 'it is inside the lake this run writes',
    );
    return;
  }
  if (w.entered.has(real)) {
    w.onSkip?.(
      dir,
      linked
        ? 'a link to a folder this run reads already'
        : 'this run read it already through a link',
    );
    return;
  }
  w.entered.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  if (isLakeListing(entries)) {
    w.onSkip?.(
      dir,
      isBackupListing(entries)
        ? `it is an lpacs backup: ${restoreHint(dir)}`
        : 'it is an lpacs lake',
    );
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      yield* walk(path, join(real, entry.name), false, w);
    else if (entry.isFile()) yield { source: path, path };
    else if (entry.isSymbolicLink()) {
      let target;
      try {
        target = await stat(path);
      } catch (err) {
        yield brokenLink(path, err);
        continue;
      }
      // A link to a device, socket or pipe is passed over, as those are.
      if (!target.isFile() && !target.isDirectory()) continue;
      const to = await realpath(path);
      const out = await linkOut(to, target.isDirectory(), w);
      if (out !== undefined) w.onSkip?.(path, out);
      else if (target.isDirectory()) yield* walk(path, to, true, w);
      else yield { source: path, path };
    }
  }
}

/**
 * Every regular file below a folder, depth first, in name order, as an
 * input. Links are followed, to folders too; a folder reached again (a
 * link loop, or two links to one folder) is read once; a link to nothing
 * is an input carrying `BROKEN_LINK`. Lakes are not entered, nor is a
 * link into one followed.
 */
export async function* walkFolder(
  dir: string,
  options: WalkOptions = {},
): AsyncGenerator<InputFile> {
  yield* walk(dir, await realpath(dir), false, {
    ...options,
    entered: new Set(),
    lakes: new Map(),
  });
}
