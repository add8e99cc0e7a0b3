import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Every regular file below a folder, depth first, in name order. */
export async function* walkFolder(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFolder(path);
    else if (entry.isFile()) yield path;
    else if (entry.isSymbolicLink()) {
      // Followed to files only: a link to a folder could loop.
      const target = await stat(path).catch(() => undefined);
      if (target?.isFile()) yield path;
    }
  }
}
