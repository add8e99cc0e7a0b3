import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  copyFile,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createDestination, writeFileAtomic } from './fsutil';
import { S3Store, s3LocationFromUrl } from './s3/S3Store';

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Where backups live: a directory, or a prefix in an S3-compatible store.
 * Paths are relative and '/'-separated, laid out like the lake itself.
 */
export interface BackupTarget {
  /** A directory path or s3:// URL, for messages. */
  readonly name: string;
  /** Where a reader finds a file: an absolute path or an s3:// URL. */
  locate(path: string): string;
  /** Size of a file, or undefined when it is not there. */
  size(path: string): Promise<number | undefined>;
  /**
   * Copies a local file in, whole or not at all; returns the SHA-256 of
   * the stored copy (`sha256` when the caller knows it already).
   */
  putFile(
    path: string,
    from: string,
    size: number,
    sha256?: string,
  ): Promise<string>;
  putBytes(path: string, bytes: Buffer): Promise<void>;
  readText(path: string): Promise<string | undefined>;
  /** Copies a file out; returns the SHA-256 of what arrived, or undefined if missing. */
  getFile(path: string, to: string): Promise<string | undefined>;
  /** SHA-256 of a stored file (read back whole), or undefined if missing. */
  hashOf(path: string): Promise<string | undefined>;
  /** Names of the files directly in a folder. */
  list(dir: string): Promise<string[]>;
  /**
   * Every file under a folder, at any depth: its path (from the target's
   * root, '/'-separated) and size.
   */
  walk(dir: string): Promise<Array<{ path: string; size: number }>>;
  /** Deletes a file; one already gone is no error. */
  remove(path: string): Promise<void>;
  /** Makes the target ready for writing (an S3 bucket is created). */
  prepare(): Promise<void>;
}

/** What a backup folder holds (pruneBackup's journal is prune.json). */
const BACKUP_NAMES = new Set([
  'snapshots',
  'tables',
  'objects',
  'blobs',
  'locks',
  'prune.json',
]);

/** A backup in a local (or mounted) directory. */
export class DirTarget implements BackupTarget {
  readonly name: string;
  constructor(dir: string) {
    this.name = resolve(dir);
  }
  locate(path: string): string {
    return join(this.name, path);
  }
  async size(path: string): Promise<number | undefined> {
    return stat(this.locate(path)).then(
      (s) => s.size,
      () => undefined,
    );
  }
  async putFile(
    path: string,
    from: string,
    _size: number,
    sha256?: string,
  ): Promise<string> {
    const to = this.locate(path);
    await mkdir(dirname(to), { recursive: true });
    // Its own temporary name: another writer of the same content (a
    // concurrent backup into this DEST) must not rename it from under us.
    const part = `${to}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    await copyFile(from, part);
    await rename(part, to);
    // Hashing the copy, not the source, also checks the copy.
    return sha256 ?? sha256Of(to);
  }
  async putBytes(path: string, bytes: Buffer): Promise<void> {
    await writeFileAtomic(this.locate(path), bytes, 0o600);
  }
  async readText(path: string): Promise<string | undefined> {
    return readFile(this.locate(path), 'utf8').catch(() => undefined);
  }
  async getFile(path: string, to: string): Promise<string | undefined> {
    const from = this.locate(path);
    const actual = await sha256Of(from).catch(() => undefined);
    if (actual === undefined) return undefined;
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    return actual;
  }
  async hashOf(path: string): Promise<string | undefined> {
    return sha256Of(this.locate(path)).catch(() => undefined);
  }
  async list(dir: string): Promise<string[]> {
    return readdir(this.locate(dir)).catch(() => []);
  }
  async walk(dir: string): Promise<Array<{ path: string; size: number }>> {
    const out: Array<{ path: string; size: number }> = [];
    const visit = async (rel: string) => {
      const entries = await readdir(this.locate(rel), {
        withFileTypes: true,
      }).catch(() => []);
      for (const e of entries) {
        const path = `${rel}/${e.name}`;
        if (e.isDirectory()) await visit(path);
        else {
          const size = await this.size(path);
          if (size !== undefined) out.push({ path, size });
        }
      }
    };
    await visit(dir.replace(/\/$/, ''));
    return out;
  }
  /** Also removes the folders the file leaves empty (objects' shards). */
  async remove(path: string): Promise<void> {
    await rm(this.locate(path), { force: true });
    const parts = path.split('/').slice(0, -1);
    // Never the top folders (snapshots/, tables/, ...) themselves.
    for (let n = parts.length; n > 1; n--)
      try {
        await rmdir(this.locate(parts.slice(0, n).join('/')));
      } catch {
        break; // not empty (or gone): nothing above is empty either
      }
  }
  /**
   * Creates the folder (see createDestination), which must be empty or
   * an lpacs backup already: a backup is not written in among someone's
   * files, as a lake is not created among them (checkLakeRoot).
   */
  async prepare(): Promise<void> {
    await createDestination(this.name, 'backup destination');
    const other = (await readdir(this.name)).filter(
      (n) => !BACKUP_NAMES.has(n) && !n.startsWith('.') && n !== 'lost+found',
    );
    if (other.length)
      throw Object.assign(
        new Error(
          `${this.name} is not an lpacs backup and holds ${other.length} other ${other.length === 1 ? 'entry' : 'entries'} (${JSON.stringify(other.sort()[0])}${other.length > 1 ? ', ...' : ''}); back up into a new or empty folder, or one lpacs backup wrote`,
        ),
        { code: 'NOT_A_BACKUP' },
      );
  }
}

/** A backup under a prefix of an S3-compatible bucket. */
export class S3Target implements BackupTarget {
  constructor(readonly store: S3Store) {}
  get name(): string {
    return this.store.url();
  }
  locate(path: string): string {
    return this.store.url(path);
  }
  size(path: string): Promise<number | undefined> {
    return this.store.size(path);
  }
  putFile(
    path: string,
    from: string,
    size: number,
    sha256?: string,
  ): Promise<string> {
    return this.store.putFile(path, from, size, sha256);
  }
  putBytes(path: string, bytes: Buffer): Promise<void> {
    return this.store.putBytes(path, bytes);
  }
  async readText(path: string): Promise<string | undefined> {
    return (await this.store.getBytes(path))?.toString('utf8');
  }
  async getFile(path: string, to: string): Promise<string | undefined> {
    await mkdir(dirname(to), { recursive: true });
    try {
      return await this.store.getFile(path, to);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }
  async hashOf(path: string): Promise<string | undefined> {
    try {
      return await this.store.hash(path);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }
  async list(dir: string): Promise<string[]> {
    const prefix = `${dir.replace(/\/$/, '')}/`;
    return (await this.store.list(prefix))
      .map((o) => o.key.slice(prefix.length))
      .filter((k) => k && !k.includes('/'));
  }
  async walk(dir: string): Promise<Array<{ path: string; size: number }>> {
    return (await this.store.list(`${dir.replace(/\/$/, '')}/`)).map((o) => ({
      path: o.key,
      size: o.size,
    }));
  }
  async remove(path: string): Promise<void> {
    try {
      await this.store.delete(path);
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
  }
  prepare(): Promise<void> {
    return this.store.ensureBucket();
  }
}

/**
 * A backup target from what an operator typed: `s3://bucket/prefix`
 * (endpoint and credentials from the environment, see s3LocationFromUrl)
 * or a directory.
 */
export function backupTarget(spec: string, s3Endpoint?: string): BackupTarget {
  if (/^s3:\/\//i.test(spec))
    return new S3Target(
      new S3Store(s3LocationFromUrl(spec, process.env, s3Endpoint)),
    );
  return new DirTarget(spec);
}
