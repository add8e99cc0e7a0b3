import { stat } from 'node:fs/promises';
import type { InputFile } from './InputFile';
import { readZip } from './readZip';
import { walkFolder } from './walkFolder';

function isZip(path: string): boolean {
  return path.toLowerCase().endsWith('.zip');
}

/** Files, folders (recursive) and .zip archives, flattened to input files. */
export async function* expandInputs(
  paths: readonly string[],
): AsyncGenerator<InputFile> {
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      for await (const file of walkFolder(path)) {
        if (isZip(file)) yield* readZip(file);
        else yield { source: file, path: file };
      }
    } else if (isZip(path)) yield* readZip(path);
    else yield { source: path, path };
  }
}
