import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, readObjectSync, writeLakeFile } from '@lpacs/lake';

/**
 * Runs `body` holding `<path>.lock`, a lock file naming its process: other
 * processes and other calls in this one wait (up to 10 s); a lock whose
 * process is gone (kill -9) is taken over.
 */
export async function withFileLock<R>(
  path: string,
  body: () => R | Promise<R>,
): Promise<R> {
  const lock = `${path}.lock`;
  for (let waited = 0; ; waited += 10) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released between our two calls
    }
    if (holder > 0 && !processAlive(holder)) rmSync(lock, { force: true });
    else if (waited > 10_000)
      throw new Error(`${lock} is held by process ${holder} for over 10 s`);
    else await sleep(10);
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * One JSON file of lake state (users, tokens, cohorts, shares) that several
 * processes may change: `lpacs users add` while `lpacs serve` runs. Each
 * change happens under `<file>.lock` and lands by atomic rename, so readers
 * see the old or the new document, never a torn one. Reads are cached
 * until the file changes. In an encrypted lake the file is sealed (and so
 * also authenticated: a document edited without the KEK does not open).
 */
export class JsonDocument<T> {
  readonly #root: string;
  readonly #key: string;
  readonly #path: string;
  readonly #empty: () => T;
  #cached: { key: string; value: T } | undefined;

  /** `path` is a file of the lake at `root`. */
  constructor(root: string, path: string, empty: () => T) {
    this.#root = root;
    this.#key = relative(root, path);
    this.#path = path;
    this.#empty = empty;
  }

  /** The current document (a fresh empty one when the file is absent). */
  read(): T {
    let key: string;
    try {
      const s = statSync(this.#path);
      key = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return this.#empty();
    }
    if (this.#cached?.key !== key) {
      const value = JSON.parse(
        readObjectSync(this.#root, this.#key).toString('utf8'),
      ) as T;
      this.#cached = { key, value };
    }
    return structuredClone(this.#cached.value);
  }

  /**
   * Applies `change` to the current document under the lock and writes
   * the result; returns what `change` returns. A throw writes nothing.
   */
  async update<R>(change: (doc: T) => R | Promise<R>): Promise<R> {
    await mkdir(dirname(this.#path), { recursive: true });
    return withFileLock(this.#path, async () => {
      const doc = this.read();
      const result = await change(doc);
      await writeLakeFile(
        this.#root,
        this.#key,
        `${JSON.stringify(doc, null, 1)}\n`,
      );
      return result;
    });
  }
}
