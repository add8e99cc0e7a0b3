import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LakeError, LakeErrorCode } from './LakeError';
import { processAlive, processStart } from './processAlive';

/**
 * What a lock entry stands for: a process appending batches (`writer`,
 * any number at once), one needing the lake to itself (`exclusive`:
 * compaction, erasure, key rotation, recovery after a restore), a short
 * hold of the lake's mutex (`mutex`), or a process that may commit at any
 * time while it runs without keeping a writer open (`hold`: a server, a
 * prediction run), which keeps `exclusive` ones out but not writers.
 */
export type LockKind = 'writer' | 'exclusive' | 'mutex' | 'hold';

/** One entry of `locks/`, read from its name and its text. */
export interface LockEntry {
  name: string;
  kind: LockKind;
  pid: number;
  host: string;
  /**
   * When its process started (see processStart), if the entry says: a
   * process of that pid started at another time is not its holder.
   */
  started?: string;
  /** What holds it (`lpacs serve`), if the entry says. */
  what?: string;
}

// The host goes into file names: keep it to a safe alphabet.
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
const ENTRY = /^(writer|exclusive|mutex|hold)-(\d+)-[0-9a-f]+@(.+)$/;

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
  return entry.host !== HOST || processAlive(entry.pid, entry.started);
}

/** True for an entry of this process's own (same pid, this host). */
export function isMine(entry: LockEntry): boolean {
  return entry.host === HOST && entry.pid === process.pid;
}

/** An entry's text: `PID HOST`, then `started=` and `what=` lines. */
function entryText(what: string | undefined): string {
  const started = processStart(process.pid);
  return [
    `${process.pid} ${HOST}`,
    ...(started ? [`started=${started}`] : []),
    ...(what ? [`what=${what.replace(/[\r\n]/g, ' ')}`] : []),
    '',
  ].join('\n');
}

/** The `started=` and `what=` of an entry's text (older entries have none). */
function readText(path: string): { started?: string; what?: string } {
  const out: { started?: string; what?: string } = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('started=')) out.started = line.slice(8);
    else if (line.startsWith('what=')) out.what = line.slice(5);
  }
  return out;
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
        const command = commandOf(e.pid) ?? e.what;
        return command ? `${command} (process ${e.pid})` : `process ${e.pid}`;
      }),
    ),
  ];
  const many = who.length > 1;
  // A server holds the lake for as long as it runs: waiting never ends.
  const serving = who.some((w) => w.startsWith('lpacs serve'));
  // A server or prediction run that writes nothing yet holds it all
  // the same: it may commit at any time.
  const held = holders.some((e) => e.kind === 'hold');
  return new LakeError(
    LakeErrorCode.Busy,
    `lake ${root} is ${held ? 'in use' : 'being written'} by ${who.join(', ')}; ${
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

  /**
   * Every entry, whether its process runs or not; one removed while they
   * are read is left out (its holder let it go).
   */
  entries(): LockEntry[] {
    const out: LockEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      const entry = parse(name);
      if (!entry) continue;
      // A mutex entry is short-lived and its name is all that counts.
      if (entry.kind !== 'mutex') {
        try {
          Object.assign(entry, readText(join(this.dir, name)));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
      }
      out.push(entry);
    }
    return out;
  }

  /**
   * Adds an entry for this process; its name also names its folders.
   * `what` names the holder in others' LAKE_BUSY when its command line
   * does not (a server started from a script).
   */
  add(kind: LockKind, what?: string): string {
    const name = `${kind}-${process.pid}-${randomBytes(4).toString('hex')}@${HOST}`;
    writeFileSync(join(this.dir, name), entryText(what), {
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
