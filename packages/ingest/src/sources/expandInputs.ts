import { realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isBackupRoot, lakeHolding } from '@lpacs/lake';
import type { InputFile } from './InputFile';
import { MediaFolder } from './MediaFolder';
import { readDicomdir } from './readDicomdir';
import { isDicomdir, readMedia } from './readMedia';
import { readTar } from './readTar';
import { readZip } from './readZip';
import { isWithin, restoreHint, walkFolder } from './walkFolder';
import type { WalkOptions } from './walkFolder';

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
 * True for an archive member that is itself an archive ingest would open
 * (.zip, .tar, .tar.gz, .tgz), by its name or by its first bytes (a zip's
 * signature, a tar's `ustar` magic), unless it is a DICOM file (DICM at
 * byte 128).
 */
function isNestedArchive(name: string, bytes: Buffer): boolean {
  if (bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM')
    return false;
  if (isArchive(name)) return true;
  const zip =
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    [0x0304, 0x0506, 0x0708].includes(bytes.readUInt16BE(2));
  const tar =
    bytes.length >= 262 && bytes.toString('latin1', 257, 262) === 'ustar';
  return zip || tar;
}

/** A member's path in its archive, as media file IDs compare (PS3.10 8.5). */
function memberKey(name: string): string {
  return name
    .replace(/\\/g, '/')
    .replace(/^\.?\//, '')
    .toUpperCase();
}

/**
 * The members of an archive; a damaged one ends with an input that carries
 * the error, so the run records it and goes on with the next path. Media
 * in an archive (a DICOMDIR among its members) is an index, not an
 * instance: it is not ingested, and a file it references that the archive
 * lacks becomes an input carrying `MISSING_FILE`.
 */
async function* members(
  path: string,
  read: (p: string) => AsyncGenerator<InputFile>,
  onSkip: WalkOptions['onSkip'],
): AsyncGenerator<InputFile> {
  const present = new Set<string>();
  const referenced: Array<{ key: string; fileId: string[] }> = [];
  try {
    for await (const member of read(path)) {
      if (member.notRead !== undefined) {
        // A link: named in the run's notRead, as a link on disk is.
        onSkip?.(member.source, member.notRead);
        continue;
      }
      const name = member.source.slice(path.length + 1);
      present.add(memberKey(name));
      if (member.bytes && isNestedArchive(name, member.bytes)) {
        yield {
          source: member.source,
          error: {
            code: 'NESTED_ARCHIVE',
            message:
              'an archive inside an archive is not read: unpack the outer archive and ingest the folder',
          },
        };
        continue;
      }
      if (member.bytes && isDicomdir(name)) {
        const fileIds = dicomdirIndex(member.bytes);
        if (fileIds) {
          const dir = name.includes('/') ? name.replace(/[^/]*$/, '') : '';
          for (const fileId of fileIds)
            referenced.push({ key: memberKey(dir + fileId.join('/')), fileId });
          continue;
        }
      }
      yield member;
    }
  } catch (err) {
    yield {
      source: path,
      error: {
        code: 'BAD_ARCHIVE',
        message: `cannot read the archive: ${(err as Error).message.replace(path, '').slice(0, 160)}`,
      },
    };
    return;
  }
  if (!present.size) {
    // Counted and kept like a damaged archive: a run that read nothing
    // from an input says so instead of passing over it.
    yield {
      source: path,
      error: { code: 'EMPTY_ARCHIVE', message: 'the archive holds no files' },
    };
    return;
  }
  for (const { key, fileId } of referenced) {
    if (present.has(key)) continue;
    present.add(key); // reported once
    yield {
      source: `${path}!${fileId.join('/')}`,
      error: {
        code: 'MISSING_FILE',
        message: `the DICOMDIR references ${fileId.join('\\')}, which is not in the archive`,
      },
    };
  }
}

/** The file IDs a DICOMDIR indexes, or undefined when it cannot serve as one. */
function dicomdirIndex(bytes: Buffer): string[][] | undefined {
  try {
    return readDicomdir(bytes);
  } catch {
    return undefined; // ingested instead, and quarantined with its reason
  }
}

function archive(
  path: string,
  onSkip: WalkOptions['onSkip'],
): AsyncGenerator<InputFile> | undefined {
  if (isZip(path)) return members(path, readZip, onSkip);
  if (isTar(path)) return members(path, readTar, onSkip);
  return undefined;
}

/**
 * The real path of the lake an ingest writes, for WalkOptions.exclude;
 * none when it does not exist yet.
 */
export async function lakeExclusion(lake: string): Promise<string[]> {
  return realpath(lake).then(
    (real) => [real],
    () => [],
  );
}

/**
 * The lake `lake` (a real path) as the user would write it: the ancestor
 * of the given `path` that is it (`otherlake` for `otherlake/objects`),
 * or its real path when a link lies between.
 */
async function shownLake(
  path: string,
  real: string,
  lake: string,
): Promise<string> {
  const depth = real === lake ? 0 : relative(lake, real).split(sep).length;
  const up = join(path, ...Array<string>(depth).fill('..'));
  return (await realpath(up).catch(() => '')) === lake ? up : lake;
}

/**
 * Why input `path` is not read, or undefined when it is: it is, or lies
 * inside, the lake being written (`exclude`, real paths) or any other
 * lpacs lake. Walks up from the input's real path, a stat or so per
 * folder, so a lake's `objects/` (or one object) given as input is found
 * as its root is.
 */
export async function inputInLake(
  path: string,
  exclude: readonly string[] = [],
): Promise<string | undefined> {
  const real = await realpath(path);
  const written = exclude.find((root) => isWithin(real, root));
  if (written !== undefined)
    return real === written
      ? 'it is the lake this run writes'
      : 'it is inside the lake this run writes';
  const lake = await lakeHolding(real);
  if (lake === undefined) return undefined;
  // A backup is laid out as a lake is, and is no more an input.
  if (await isBackupRoot(lake)) {
    const shown = await shownLake(path, real, lake);
    return `${real === lake ? 'it is an lpacs backup' : `it is inside the lpacs backup ${shown}`}: ${restoreHint(shown)}`;
  }
  if (real === lake) return 'it is an lpacs lake';
  return `it is inside the lpacs lake ${await shownLake(path, real, lake)}`;
}

/** Drops a DICOMDIR's files that lie in an excluded lake. */
async function* outside(
  inputs: AsyncGenerator<InputFile>,
  exclude: readonly string[],
): AsyncGenerator<InputFile> {
  if (!exclude.length) return yield* inputs;
  for await (const input of inputs) {
    const real = input.path && (await realpath(input.path).catch(() => ''));
    if (real && exclude.some((root) => isWithin(real, root))) continue;
    yield input;
  }
}

/**
 * Files, folders (recursive, links followed), DICOMDIR-indexed media and
 * .zip/.tar/.tar.gz archives, flattened to input files. Nothing in
 * `options.exclude` (the lake being written) nor in any other lake is
 * read, whether an input is a lake, lies inside one, or holds one;
 * `options.onSkip` hears of each input, folder and link left out.
 */
export async function* expandInputs(
  paths: readonly string[],
  options: WalkOptions = {},
): AsyncGenerator<InputFile> {
  const exclude = options.exclude ?? [];
  // The same path given twice (or a folder and a file inside it) is read once.
  const seen = new Set<string>();
  for (const path of paths) {
    const info = await stat(path);
    const inLake = await inputInLake(path, exclude);
    if (inLake !== undefined) {
      options.onSkip?.(path, inLake);
      continue;
    }
    if (info.isDirectory()) {
      // Media: what the DICOMDIR indexes first, in its order; the walk
      // then adds only files it does not reference (PS3.10 8).
      const dicomdir = await new MediaFolder(path).dicomdir();
      if (dicomdir) yield* outside(readMedia(dicomdir, seen), exclude);
      for await (const input of walkFolder(path, options)) {
        const file = input.path;
        if (file === undefined) {
          yield input; // a broken link, with its reason
          continue;
        }
        if (seen.has(resolve(file))) continue;
        if (isDicomdir(file)) {
          yield* outside(readMedia(file, seen), exclude);
          continue;
        }
        seen.add(resolve(file));
        yield* archive(file, options.onSkip) ?? [input];
      }
    } else if (isDicomdir(path)) {
      yield* outside(readMedia(path, seen), exclude);
    } else if (!seen.has(resolve(path))) {
      seen.add(resolve(path));
      yield* archive(path, options.onSkip) ?? [{ source: path, path }];
    }
  }
}
