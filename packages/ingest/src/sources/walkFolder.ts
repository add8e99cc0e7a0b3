import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { isLakeListing } from '@lpacs/lake';

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
}

async function* walk(
  dir: string,
  real: string,
  linked: boolean,
  w: Walk,
): AsyncGenerator<string> {
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
    w.onSkip?.(dir, 'it is an lpacs lake');
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      yield* walk(path, join(real, entry.name), false, w);
    else if (entry.isFile()) yield path;
    else if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined);
      if (!target?.isFile() && !target?.isDirectory()) continue;
      const to = await realpath(path);
      if (target.isDirectory()) yield* walk(path, to, true, w);
      else if (w.exclude?.some((root) => isWithin(to, root)))
        w.onSkip?.(path, 'a link into the lake this run writes');
      else yield path;
    }
  }
}

/**
 * Every regular file below a folder, depth first, in name order. Links
 * are followed, to folders too; a folder reached again (a link loop, or
 * two links to one folder) is read once. Lakes are not entered.
 */
export async function* walkFolder(
  dir: string,
  options: WalkOptions = {},
): AsyncGenerator<string> {
  yield* walk(dir, await realpath(dir), false, {
    ...options,
    entered: new Set(),
  });
}
