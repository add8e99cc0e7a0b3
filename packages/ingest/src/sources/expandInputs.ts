import { stat } from 'node:fs/promises';
import type { InputFile } from './InputFile';
import { readTar } from './readTar';
import { readZip } from './readZip';
import { walkFolder } from './walkFolder';

function isZip(path: string): boolean {
  return path.toLowerCase().endsWith('.zip');
}

function isTar(path: string): boolean {
  return /\.(tar|tgz|tar\.gz)$/i.test(path);
}

/**
 * The members of an archive; a damaged one ends with an input that carries
 * the error, so the run records it and goes on with the next path.
 */
async function* members(
  path: string,
  read: (p: string) => AsyncGenerator<InputFile>,
): AsyncGenerator<InputFile> {
  try {
    yield* read(path);
  } catch (err) {
    yield {
      source: path,
      error: {
        code: 'BAD_ARCHIVE',
        message: `cannot read the archive: ${(err as Error).message.replace(path, '').slice(0, 160)}`,
      },
    };
  }
}

function archive(path: string): AsyncGenerator<InputFile> | undefined {
  if (isZip(path)) return members(path, readZip);
  if (isTar(path)) return members(path, readTar);
  return undefined;
}

/** Files, folders (recursive) and .zip/.tar/.tar.gz archives, flattened to input files. */
export async function* expandInputs(
  paths: readonly string[],
): AsyncGenerator<InputFile> {
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      for await (const file of walkFolder(path)) {
        yield* archive(file) ?? [{ source: file, path: file }];
      }
    } else yield* archive(path) ?? [{ source: path, path }];
  }
}
