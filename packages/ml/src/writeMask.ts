import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a mask object under a temporary name, then renames it. Not
 * fsynced: like ingest's objects, masks become durable in the commit of
 * their rows, which flushes the file system before the rows are visible;
 * an fsync per mask cost more than the inference of a small model.
 */
export async function writeMask(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, bytes);
  }
  await rename(tmp, path);
}
