import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DicomError } from '@lpacs/dicom';
import type { InputFile } from './InputFile';
import { MediaFolder } from './MediaFolder';
import { readDicomdir } from './readDicomdir';

/** True for a path named DICOMDIR, the one name PS3.10 8.6 gives it. */
export function isDicomdir(path: string): boolean {
  return basename(path).toUpperCase() === 'DICOMDIR';
}

/**
 * The files a DICOMDIR indexes, in record order, each added to `seen` so
 * that a folder walk afterwards skips them. A file it names that is not on
 * the media is an input carrying `MISSING_FILE`. The DICOMDIR itself is
 * yielded only when it cannot serve as an index, so that the run
 * quarantines it with the reason; a file named DICOMDIR that is not a
 * media directory is yielded to be ingested like any other.
 */
export async function* readMedia(
  dicomdir: string,
  seen: Set<string>,
): AsyncGenerator<InputFile> {
  if (seen.has(resolve(dicomdir))) return;
  seen.add(resolve(dicomdir));
  let fileIds: string[][] | undefined;
  try {
    fileIds = readDicomdir(await readFile(dicomdir));
  } catch (err) {
    if (!(err instanceof DicomError) && !(err instanceof RangeError)) {
      // Unreadable from disk: the worker reports it as for any file.
      yield { source: dicomdir, path: dicomdir };
      return;
    }
    yield {
      source: dicomdir,
      error: {
        code: 'BAD_DICOMDIR',
        message: `cannot use the DICOMDIR as an index (${err.message}); its folder is read instead`,
      },
    };
    return;
  }
  if (!fileIds) {
    yield { source: dicomdir, path: dicomdir };
    return;
  }
  const media = new MediaFolder(dirname(dicomdir));
  for (const fileId of fileIds) {
    const path = await media.resolve(fileId);
    const source = path ?? join(media.root, ...fileId);
    if (seen.has(resolve(source))) continue;
    seen.add(resolve(source));
    yield path
      ? { source, path }
      : {
          source,
          error: {
            code: 'MISSING_FILE',
            message: `the DICOMDIR references ${fileId.join('\\')}, which is not on the media`,
          },
        };
  }
}
