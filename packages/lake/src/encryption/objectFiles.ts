import { createReadStream, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LakeCipher } from './LakeCipher';
import { openLakeCipher } from './openLakeCipher';
import { writeFileAtomic } from '../fsutil';

/*
 * Every file of a lake that holds imaging or identifying data (objects,
 * masks, SEG objects, quarantined originals, the site secret, linkage) or
 * says anything about them (state documents, job records, releases) is
 * read and written through these, by its key relative to the lake root:
 * sealed (LakeCipher) in an encrypted lake, as is otherwise.
 */

/** The bytes of a lake file as stored, decrypted when the lake is encrypted. */
export async function readObject(root: string, key: string): Promise<Buffer> {
  const cipher = openLakeCipher(root);
  const bytes = await readFile(join(root, key));
  return cipher ? cipher.open(bytes, key) : bytes;
}

/** readObject, synchronously (for ingest workers). */
export function readObjectSync(root: string, key: string): Buffer {
  const cipher = openLakeCipher(root);
  const bytes = readFileSync(join(root, key));
  return cipher ? cipher.open(bytes, key) : bytes;
}

/** What to write to disk for `plain` in this lake: sealed, or itself. */
export function sealObject(root: string, plain: Buffer): Buffer {
  return openLakeCipher(root)?.seal(plain) ?? plain;
}

/** A lake file's plaintext size, from its size on disk. */
export async function objectSize(root: string, key: string): Promise<number> {
  const size = (await stat(join(root, key))).size;
  return openLakeCipher(root) ? size - LakeCipher.overhead : size;
}

/**
 * A lake file as a stream of its plaintext, and the plaintext's size; for
 * downloads of objects too large to hold in memory.
 */
export async function objectStream(
  root: string,
  key: string,
): Promise<{ stream: Readable; size: number }> {
  const cipher = openLakeCipher(root);
  const path = join(root, key);
  if (cipher) return cipher.openStream(path, key);
  const size = (await stat(path)).size;
  return { stream: createReadStream(path), size };
}

/**
 * Writes a lake file whole (atomic rename, `mode`), sealed in an encrypted
 * lake: state documents, job records, release files.
 */
export async function writeLakeFile(
  root: string,
  key: string,
  data: string | Buffer,
  mode = 0o600,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  await writeFileAtomic(join(root, key), sealObject(root, bytes), mode);
}
