import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LakeError, LakeErrorCode } from './LakeError';
import { processAlive } from './processAlive';

/**
 * What a lock entry stands for: a process appending batches (`writer`,
 * any number at once), one needing the lake to itself (`exclusive`:
 * compaction, erasure, key rotation, recovery after a restore), or a
 * short hold of the lake's mutex (`mutex`).
 */
export type LockKind = 'writer' | 'exclusive' | 'mutex';

/** One entry of `locks/`, read from its name. */
export interface LockEntry {
  name: string;
  kind: LockKind;
  pid: number;
  host: string;
}

// The host goes into file names: keep it to a safe alphabet.
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
const ENTRY = /^(writer|exclusive|mutex)-(\d+)-[0-9a-f]+@(.+)$/;

function parse(name: string): LockEntry | undefined {
  const m = ENTRY.exec(name);
  if (!m) return undefined;
  return { name, kind: m[1] as LockKind, pid: Number(m[2]), host: m[3]! };
}

/**
 * True unless the entry's process is known to be gone. A process of
 * another host cannot be checked from here, so it counts as running.
 */
export function isLive(entry: LockEntry): boolean {
  return entry.host !== HOST || processAlive(entry.pid);
}

/**
 * What a process of this host runs, from its command line: `lpacs serve`
 * for a CLI command, else undefined (not ours to say, or gone).
 */
function commandOf(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const bin = argv.findIndex((a) => /(^|\/)(bin\.js|lpacs)$/.test(a));
    const sub = bin >= 0 ? argv[bin + 1] : undefined;
    return sub && /^[a-z]+$/.test(sub) ? `lpacs ${sub}` : undefined;
  } catch {
    return undefined;
  }
}

/** LAKE_BUSY naming the processes in the way, and what they run. */
export function busyError(root: string, holders: LockEntry[]): LakeError {
  const who = [
    ...new Set(
      holders.map((e) => {
        if (e.host !== HOST) return `process ${e.pid} on ${e.host}`;
        const command = commandOf(e.pid);
        return command ? `${command} (process ${e.pid})` : `process ${e.pid}`;
      }),
    ),
  ];
  const many = who.length > 1;
  // A server holds the lake for as long as it runs: waiting never ends.
  const serving = who.some((w) => w.startsWith('lpacs serve'));
  return new LakeError(
    LakeErrorCode.Busy,
    `lake ${root} is being written by ${who.join(', ')}; ${
      serving
        ? 'a running server keeps the lake until it stops: stop it for this command'
        : `wait for ${many ? 'them' : 'it'} to finish`
    } (reading with lpacs status is fine)`,
  );
}

/**
 * The lock entries of a lake (`locks/`), one file per holder named
 * `<kind>-<pid>-<random>@<host>`. Every name is unique, so removing the
 * entry of a process that is gone (kill -9) can never remove a live one.
 *
 * The mutex is held by the process whose `mutex-` entry was alone among
 * live ones when it listed the folder after creating it: of two that
 * create theirs at once, at least one sees the other and backs off, so two
 * can never both hold it.
 */
export class LakeLocks {
  readonly #waitMs: number;

  /**
   * @param dir the lake's `locks/` folder (must exist).
   * @param root the lake, for messages.
   * @param waitMs how long to wait for the mutex before LAKE_BUSY.
   */
  constructor(
    readonly dir: string,
    readonly root: string,
    waitMs = 120_000,
  ) {
    this.#waitMs = waitMs;
  }

  /** Every entry, whether its process runs or not. */
  entries(): LockEntry[] {
    const out: LockEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      const entry = parse(name);
      if (entry) out.push(entry);
    }
    return out;
  }

  /** Adds an entry for this process; its name also names its folders. */
  add(kind: LockKind): string {
    const name = `${kind}-${process.pid}-${randomBytes(4).toString('hex')}@${HOST}`;
    writeFileSync(join(this.dir, name), `${process.pid} ${HOST}\n`, {
      flag: 'wx',
    });
    return name;
  }

  remove(name: string): void {
    rmSync(join(this.dir, name), { force: true });
  }

  /**
   * Runs `body` holding the lake's mutex (which changes to lock entries
   * and commits take). Waits for another holder.
   * @throws LakeError LAKE_BUSY naming the holder after waiting too long.
   */
  async withMutex<T>(body: () => Promise<T>): Promise<T> {
    const mine = await this.#acquire();
    try {
      return await body();
    } finally {
      this.remove(mine);
    }
  }

  async #acquire(): Promise<string> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const mine = this.add('mutex');
      const rivals = this.entries().filter((e) => {
        if (e.kind !== 'mutex' || e.name === mine) return false;
        if (isLive(e)) return true;
        this.remove(e.name); // held by a process killed while holding it
        return false;
      });
      if (!rivals.length) return mine;
      this.remove(mine);
      if (Date.now() - started > this.#waitMs)
        throw busyError(this.root, rivals);
      // Random, growing waits: two that keep meeting drift apart.
      const cap = Math.min(64, 2 ** (attempt + 1));
      await sleep(1 + Math.random() * cap);
    }
  }
}
