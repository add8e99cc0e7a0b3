import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
} from 'node:fs/promises';
import { fsyncPath, openLakeCipher, processAlive } from '@lpacs/lake';
import type { LakeCipher, Logger } from '@lpacs/lake';

// As the lake's lock entries: a host name kept to a safe alphabet.
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
const OWNER = /^scp-(\d+)-[0-9a-f]+@(.+)$/;
/** `<association>-<n>-<calling AE in hex>.dcm` */
export const FILE = /^([0-9a-f]{12})-(\d+)-([0-9a-f]*)\.dcm$/;
/** What a file is called until it is renamed, whole and flushed (see put). */
export const TEMPORARY_PREFIX = '.tmp-';

/** A received instance waiting in the spool for its batch to commit. */
export interface Spooled {
  /** The file's path in the spool. */
  path: string;
  /** The association that sent it (12 hex digits). */
  association: string;
  /** The C-STORE's number in its association, from 1. */
  n: number;
  callingAE: string;
}

function parseName(dir: string, name: string): Spooled | undefined {
  const m = FILE.exec(name);
  if (!m) return undefined;
  return {
    path: join(dir, name),
    association: m[1]!,
    n: Number(m[2]),
    callingAE: Buffer.from(m[3]!, 'hex').toString('latin1'),
  };
}

/**
 * Where the C-STORE SCP keeps each received instance, durably, from the
 * moment it answers it until the lake batch holding it has committed:
 * `spool/scp-<pid>-<random>@<host>/` under the lake, one folder per
 * running SCP. A file is written to a temporary name, fsynced, renamed
 * and its folder fsynced (as the lake writes its own files), so a
 * C-STORE answered after `put` survives kill -9 and a power cut. An
 * encrypted lake seals spooled files as it seals quarantined ones: they
 * are originals, PHI and all.
 *
 * A spool whose process is gone (a folder of this host whose pid no
 * longer runs) is taken over when the next SCP opens: its files move into
 * the new one's folder (a rename each: of two SCPs starting at once, each
 * file goes to one) and are ingested before it listens.
 */
export class Spool {
  readonly #dir: string;
  readonly #cipher: LakeCipher | undefined;
  readonly #logger: Logger;

  private constructor(
    dir: string,
    cipher: LakeCipher | undefined,
    logger: Logger,
  ) {
    this.#dir = dir;
    this.#cipher = cipher;
    this.#logger = logger;
  }

  /**
   * Received instances the lake's spools hold, answered but in no
   * committed batch yet: in the spools of running SCPs (in flight, a
   * batch pending) and of SCPs that stopped without emptying theirs
   * (`stopped`: waiting for the next `serve --dimse-port` to take them
   * over). Read only; nothing is moved.
   */
  static async waiting(
    lakeRoot: string,
  ): Promise<{ files: number; stopped: number }> {
    const root = join(lakeRoot, 'spool');
    let files = 0;
    let stopped = 0;
    for (const name of await readdir(root).catch(() => [])) {
      const owner = OWNER.exec(name);
      if (!owner) continue;
      const held = (await readdir(join(root, name)).catch(() => [])).filter(
        (f) => FILE.test(f),
      ).length;
      files += held;
      if (owner[2] === HOST && !processAlive(Number(owner[1]))) stopped += held;
    }
    return { files, stopped };
  }

  /** This SCP's spool folder. */
  get dir(): string {
    return this.#dir;
  }

  /** Makes this process's spool folder under `<lake>/spool/`. */
  static async open(lakeRoot: string, logger: Logger): Promise<Spool> {
    const root = join(lakeRoot, 'spool');
    await mkdir(root, { recursive: true, mode: 0o700 });
    const dir = join(
      root,
      `scp-${process.pid}-${randomBytes(4).toString('hex')}@${HOST}`,
    );
    await mkdir(dir, { mode: 0o700 });
    await fsyncPath(root);
    return new Spool(dir, openLakeCipher(lakeRoot), logger);
  }

  /**
   * Moves the files of spools whose process is gone into this one and
   * returns every file this spool holds, oldest association first, each
   * association's in the order received.
   */
  async takeOver(): Promise<Spooled[]> {
    const root = join(this.#dir, '..');
    for (const name of await readdir(root)) {
      const owner = OWNER.exec(name);
      const path = join(root, name);
      if (!owner || path === this.#dir) continue;
      if (owner[2] !== HOST || processAlive(Number(owner[1]))) continue;
      let moved = 0;
      for (const file of await readdir(path).catch(() => [])) {
        if (!FILE.test(file)) continue;
        try {
          await rename(join(path, file), join(this.#dir, file));
          moved++;
        } catch (err) {
          // Another SCP starting now took it first.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      if (moved) {
        await fsyncPath(this.#dir);
        this.#logger.warn(
          { files: moved },
          'took over the spool of a C-STORE SCP that stopped without emptying it',
        );
      }
      // Its temporary files were never answered: they go with it.
      await rm(path, { recursive: true, force: true });
    }
    await fsyncPath(root);
    return this.list();
  }

  /** Every file this spool holds, in the order received per association. */
  async list(): Promise<Spooled[]> {
    const out: Spooled[] = [];
    for (const name of await readdir(this.#dir)) {
      const file = parseName(this.#dir, name);
      if (file) out.push(file);
    }
    return out.sort(
      (a, b) => a.association.localeCompare(b.association) || a.n - b.n,
    );
  }

  /** Writes a received instance durably; resolves once it is on disk. */
  async put(
    association: string,
    n: number,
    callingAE: string,
    bytes: Buffer,
  ): Promise<Spooled> {
    const name = `${association}-${n}-${Buffer.from(callingAE, 'latin1').toString('hex')}.dcm`;
    const path = join(this.#dir, name);
    const tmp = join(this.#dir, `${TEMPORARY_PREFIX}${name}`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(this.#cipher?.seal(bytes) ?? bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    await fsyncPath(this.#dir);
    return { path, association, n, callingAE };
  }

  /** A spooled file's bytes (opened, in an encrypted lake). */
  async read(file: Spooled): Promise<Buffer> {
    const stored = await readFile(file.path);
    return this.#cipher
      ? this.#cipher.open(stored, 'a spooled instance')
      : stored;
  }

  /** Removes files whose batch committed (or that were refused). */
  async remove(files: Spooled[]): Promise<void> {
    if (!files.length) return;
    for (const file of files) await rm(file.path, { force: true });
    await fsyncPath(this.#dir);
  }

  /** Removes this spool's folder if it is empty; else leaves it for the next SCP. */
  async close(): Promise<void> {
    try {
      await rmdir(this.#dir);
    } catch (err) {
      this.#logger.warn(
        { code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN' },
        'the C-STORE spool is not empty; the next lpacs serve ingests what it holds',
      );
    }
  }
}
