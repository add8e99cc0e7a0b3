import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { InputFile } from './InputFile';
import { MediaFolder } from './MediaFolder';
import { isDicomdir, readMedia } from './readMedia';
import { readTar } from './readTar';
import { readZip } from './readZip';
import { walkFolder } from './walkFolder';

/** True for the archive kinds ingest opens: .zip, .tar, .tar.gz, .tgz. */
export function isArchive(path: string): boolean {
  return isZip(path) || isTar(path);
}

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

/**
 * Files, folders (recursive), DICOMDIR-indexed media and .zip/.tar/.tar.gz
 * archives, flattened to input files.
 */
export async function* expandInputs(
  paths: readonly string[],
): AsyncGenerator<InputFile> {
  // The same path given twice (or a folder and a file inside it) is read once.
  const seen = new Set<string>();
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      // Media: what the DICOMDIR indexes first, in its order; the walk
      // then adds only files it does not reference (PS3.10 8).
      const dicomdir = await new MediaFolder(path).dicomdir();
      if (dicomdir) yield* readMedia(dicomdir, seen);
      for await (const file of walkFolder(path)) {
        if (seen.has(resolve(file))) continue;
        if (isDicomdir(file)) {
          yield* readMedia(file, seen);
          continue;
        }
        seen.add(resolve(file));
        yield* archive(file) ?? [{ source: file, path: file }];
      }
    } else if (isDicomdir(path)) {
      yield* readMedia(path, seen);
    } else if (!seen.has(resolve(path))) {
      seen.add(resolve(path));
      yield* archive(path) ?? [{ source: path, path }];
    }
  }
}
