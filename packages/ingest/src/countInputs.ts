import { stat } from 'node:fs/promises';
import { isArchive, inputInLake } from './sources/expandInputs';
import { walkFolder } from './sources/walkFolder';

/**
 * Counts files below the inputs (archives count as one), for progress;
 * `exclude` as the run's walk has it.
 */
export async function countInputs(
  paths: readonly string[],
  exclude: readonly string[] = [],
): Promise<number | undefined> {
  let n = 0;
  for (const path of paths) {
    const info = await stat(path);
    if ((await inputInLake(path, exclude)) !== undefined) continue;
    if (!info.isDirectory()) {
      if (isArchive(path)) return undefined;
      n++;
      continue;
    }
    for await (const file of walkFolder(path, { exclude })) {
      if (file.path && isArchive(file.path)) return undefined;
      n++;
    }
  }
  return n;
}
