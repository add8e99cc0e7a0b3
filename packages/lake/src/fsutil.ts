import { randomBytes } from 'node:crypto';
import {
  access,
  constants,
  link,
  mkdir,
  open,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Flushes a file or directory to disk. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `data` in a new, fsynced temporary file beside `path`; returns its path. */
async function flushedSibling(
  path: string,
  data: Uint8Array | string,
  mode: number,
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

/**
 * Writes a file so a reader sees either nothing or all of it: a temporary
 * sibling, fsync, rename (atomic on one file system).
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  mode = 0o644,
): Promise<void> {
  const tmp = await flushedSibling(path, data, mode);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes a file whole (like writeFileAtomic) only if none is there yet;
 * false when one is. Two processes creating the same file at once (the
 * site secret of a new lake) then agree on one: the loser reads it.
 */
export async function createFileAtomic(
  path: string,
  data: Uint8Array | string,
  mode = 0o644,
): Promise<boolean> {
  const tmp = await flushedSibling(path, data, mode);
  try {
    await link(tmp, path); // fails with EEXIST, where rename would replace
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Flushes the whole file system holding `path` (syncfs(2) via coreutils
 * `sync -f`): one call makes a batch's objects durable, where an fsync per
 * object would cost a journal commit each.
 */
export async function syncFileSystem(path: string): Promise<void> {
  await promisify(execFile)('sync', ['-f', path]);
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir loops forever on
 * some pseudo file systems (seen under /proc); this fails with the errno.
 */
export async function makeDirectories(path: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      if (!(await stat(at)).isDirectory())
        throw Object.assign(new Error(`${at} is not a directory`), {
          code: 'ENOTDIR',
        });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.unshift(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Creates a directory a user named (a backup's destination, a restored
 * lake) with a clear error instead of Node's recursive mkdir, which spins
 * forever on some pseudo file systems (`lpacs backup /proc/nope`): the
 * nearest existing ancestor must be a writable directory, then each
 * missing level is made in turn. `what` names the directory in errors.
 * @throws Error (code DEST_UNUSABLE) saying which ancestor is in the way.
 */
export async function createDestination(
  path: string,
  what: string,
): Promise<void> {
  const target = resolve(path);
  const unusable = (why: string) =>
    Object.assign(new Error(`${what} ${target}: ${why}`), {
      code: 'DEST_UNUSABLE',
    });
  const missing: string[] = [];
  let at = target;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = (await stat(at)).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw unusable(`cannot read ${at} (${code ?? 'error'})`);
      missing.unshift(at);
      const parent = dirname(at);
      if (parent === at) throw unusable('no existing folder above it');
      at = parent;
      continue;
    }
    if (!isDir) throw unusable(`${at} is not a directory`);
    break;
  }
  try {
    await access(at, constants.W_OK);
  } catch {
    throw unusable(`${at} is not writable`);
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(dir)).isDirectory()) continue;
      throw unusable(
        `cannot create ${dir} in ${at} (${code ?? 'error'}: a pseudo or read-only file system?)`,
      );
    }
  }
}
