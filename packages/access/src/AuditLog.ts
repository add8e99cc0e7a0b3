import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AccessError, AccessErrorCode } from './AccessError';
import { withFileLock } from './JsonDocument';
import {
  createFileAtomic,
  openLakeCipher,
  readObjectSync,
  writeLakeFile,
} from '@lpacs/lake';

/** What happened, as the caller reports it (never PHI: ids and counts). */
export interface AuditEvent {
  /** The user name, or `anonymous` for a failed sign-in. */
  actor: string;
  role?: string;
  /** An Action value, or `sign-in`, `sign-out`, `token.issue`... */
  action: string;
  /** What it was done to: a cohort id, a release id, a user name. */
  target?: string;
  outcome: 'ok' | 'denied' | 'failed';
  /** Short facts (counts, reasons); never values from DICOM headers. */
  detail?: Record<string, string | number | boolean>;
}

/** An entry as stored: the event, its place in the chain and its hash. */
export interface AuditEntry extends AuditEvent {
  seq: number;
  at: string;
  /** The hash of the entry before (64 zeros for the first). */
  prev: string;
  /** SHA-256 over prev and this entry's fields: editing any line breaks it. */
  hash: string;
}

/**
 * The head of the chain, kept outside the log (`state/audit-head.json`,
 * sealed in an encrypted lake) and rewritten after each append: how many
 * entries the log held and the hash of the last. A log shorter than its
 * head, or whose entry at that place has another hash, was cut or
 * rewritten. An operator who copies it off the machine (lpacs status,
 * /metrics) can later check the log against that copy too.
 */
export interface AuditHead {
  entries: number;
  hash: string;
  /** When the last entry was appended. */
  at: string;
}

/** What verify() found: the chain recomputed, and the head it matched. */
export interface AuditVerified {
  entries: number;
  /** The hash of the last entry (64 zeros for an empty log). */
  head: string;
  /**
   * The head recorded beside the log (see AuditHead); null when none is:
   * a log last written by an lpacs from before heads were kept, or a head
   * deleted. The log may be ahead of it (see append).
   */
  recorded: AuditHead | null;
  /**
   * Bytes after the log's last newline, when there are any: a write cut
   * short (see TornTail), not an entry; the next append sets them aside.
   */
  torn?: TornTail;
}

/**
 * What follows the last newline of the log: an append that never
 * completed (the process killed, the disk full mid-write), since each
 * entry is written with its newline in one piece. It is not an entry:
 * readers leave it out, and the next append moves it to a file of its
 * own beside the log and records an `audit.recovered` entry.
 */
export interface TornTail {
  /** The line it would have been (1-based). */
  line: number;
  /** Where it starts in the log, and its length. */
  offset: number;
  bytes: number;
}

/** Filters for reading the log; all optional. */
export interface AuditQuery {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  limit?: number;
}

const GENESIS = '0'.repeat(64);

/** The chain's head, by its key under the lake (see AuditHead). */
const HEAD_KEY = 'state/audit-head.json';

/** The log's end as an append sees it: its size and last entry. */
interface Tip {
  size: number;
  seq: number;
  hash: string;
  torn?: TornTail;
}

function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, at, prev, actor, role, action, target, outcome, detail } = entry;
  const canonical = JSON.stringify([
    seq,
    at,
    prev,
    actor,
    role ?? null,
    action,
    target ?? null,
    outcome,
    detail ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The end of a log of `size` bytes, read backwards: `end`, the offset
 * just past its last newline (0 without one; anything after it is a torn
 * write), and `last`, its last non-empty whole line (undefined when there
 * is none).
 */
function readEnd(
  path: string,
  size: number,
): { end: number; last: string | undefined } {
  const fd = openSync(path, 'r');
  try {
    let pos = size;
    let buf = Buffer.alloc(0);
    for (;;) {
      const found = scanEnd(buf, pos === 0);
      if (found) return { end: pos + found.end, last: found.last };
      const length = Math.min(pos, 64 * 1024);
      const chunk = Buffer.alloc(length);
      readSync(fd, chunk, 0, length, pos - length);
      pos -= length;
      buf = Buffer.concat([chunk, buf]);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * readEnd over the last bytes of a log, `buf`: undefined when they do not
 * reach back far enough to tell (and `atStart` is false: more can be read).
 */
function scanEnd(
  buf: Buffer,
  atStart: boolean,
): { end: number; last: string | undefined } | undefined {
  const nl = buf.lastIndexOf(0x0a);
  if (nl < 0) return atStart ? { end: 0, last: undefined } : undefined;
  // The whole lines are buf[0, nl]; empty ones at their end are skipped.
  let stop = nl;
  while (stop > 0 && buf[stop - 1] === 0x0a) stop--;
  if (stop === 0) return atStart ? { end: nl + 1, last: undefined } : undefined;
  const start = buf.lastIndexOf(0x0a, stop - 1);
  if (start < 0 && !atStart) return undefined;
  return { end: nl + 1, last: buf.toString('utf8', start + 1, stop) };
}

/** The 1-based line numbers of a log's non-empty lines up to `end`. */
function lineCount(path: string, end: number): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(end);
    readSync(fd, buf, 0, end, 0);
    return buf.toString('utf8').split('\n').filter(Boolean).length;
  } finally {
    closeSync(fd);
  }
}

/** A log's bytes up to its last newline: its whole lines. */
function wholeText(path: string): { text: string; size: number } {
  const bytes = readFileSync(path);
  return {
    text: bytes.toString('utf8', 0, bytes.lastIndexOf(0x0a) + 1),
    size: bytes.length,
  };
}

/** A set-aside file's name: the time, to the millisecond. */
function tornName(at: Date, n: number): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `torn-${stamp}${n ? `-${n}` : ''}.part`;
}

/**
 * The append-only audit trail of a lake, `<lake>/audit/audit.ndjson`: one
 * JSON entry per line, each carrying the SHA-256 of the one before, so an
 * edit, a deletion or a reordering anywhere is found by verify(). Several
 * processes may append; each append holds the log's lock. In an encrypted
 * lake each line is the base64 of the entry sealed (LakeCipher): who did
 * what to which cohort is not readable, or forgeable, without the KEK.
 */
export class AuditLog {
  readonly path: string;
  /** Where the chain's head is kept (see AuditHead). */
  readonly headPath: string;
  readonly #root: string;
  #tip: Tip | undefined;

  constructor(lakeRoot: string) {
    this.#root = lakeRoot;
    this.path = join(lakeRoot, 'audit', 'audit.ndjson');
    this.headPath = join(lakeRoot, HEAD_KEY);
  }

  /**
   * The head recorded beside the log, or undefined when none is.
   * @throws AccessError AUDIT_BROKEN when it is there but does not read
   * as one (or, in an encrypted lake, does not open under its key).
   */
  head(): AuditHead | undefined {
    let text: string;
    try {
      text = readObjectSync(this.#root, HEAD_KEY).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AccessError(
        AccessErrorCode.AuditBroken,
        `the audit chain's head ${HEAD_KEY} does not open: ${(err as Error).message}`,
      );
    }
    try {
      const h = JSON.parse(text) as AuditHead;
      if (
        Number.isInteger(h.entries) &&
        h.entries > 0 &&
        /^[0-9a-f]{64}$/.test(h.hash)
      )
        return h;
    } catch {
      // reported below
    }
    throw new AccessError(
      AccessErrorCode.AuditBroken,
      `the audit chain's head ${HEAD_KEY} is not a count and a hash`,
    );
  }

  #encode(json: string): string {
    const cipher = openLakeCipher(this.#root);
    return cipher ? cipher.seal(Buffer.from(json)).toString('base64') : json;
  }

  /** An entry's JSON from its stored line. @throws for a line that does not open. */
  #decode(line: string): string {
    const cipher = openLakeCipher(this.#root);
    return cipher
      ? cipher.open(Buffer.from(line, 'base64'), 'audit').toString('utf8')
      : line;
  }

  /**
   * Appends one event and returns the stored entry. The line is flushed
   * to disk before the head is rewritten (atomically), so a crash between
   * the two leaves the log one entry ahead of its head, never behind:
   * verify accepts a log that extends its head. A log that does not (cut,
   * emptied, rewritten) keeps its head as it is, so the next append does
   * not hide what was done to it: verify goes on failing.
   */
  async append(event: AuditEvent): Promise<AuditEntry> {
    await mkdir(dirname(this.path), { recursive: true });
    return withFileLock(this.path, async () => {
      let tip = this.#currentTip();
      if (tip.torn) tip = await this.#setAside(tip, tip.torn, event);
      return this.#write(tip, event);
    });
  }

  /**
   * Checks, before an action is taken, that its entry could be appended:
   * a command that acts first and appends after would otherwise act and
   * then fail unaudited. A torn tail passes (append sets it aside).
   * @throws AccessError AUDIT_BROKEN as append would.
   */
  assertAppendable(): void {
    this.#currentTip();
  }

  /**
   * Moves a torn tail (see TornTail) to `audit/torn-<time>.part`, kept
   * for inspection, cuts the log back to its last newline and records
   * an `audit.recovered` entry naming the file, the line, its size and
   * SHA-256. Returns the tip after that entry. Called under the lock.
   */
  async #setAside(tip: Tip, torn: TornTail, by: AuditEvent): Promise<Tip> {
    // The head is rewritten only after a line is on disk whole: a head
    // that names the torn entry says it was written, then cut.
    const named = (this.#recordedOrUndefined()?.entries ?? 0) > tip.seq;
    const bytes = Buffer.alloc(torn.bytes);
    const fd = openSync(this.path, 'r+');
    try {
      readSync(fd, bytes, 0, torn.bytes, torn.offset);
      const at = new Date();
      let name = tornName(at, 0);
      for (
        let n = 1;
        !(await createFileAtomic(join(dirname(this.path), name), bytes, 0o600));
        n++
      )
        name = tornName(at, n);
      ftruncateSync(fd, torn.offset);
      fdatasyncSync(fd);
      const kept = `${basename(dirname(this.path))}/${name}`;
      await this.#write(
        { size: torn.offset, seq: tip.seq, hash: tip.hash },
        {
          actor: by.actor,
          ...(by.role ? { role: by.role } : {}),
          action: 'audit.recovered',
          target: kept,
          outcome: 'ok',
          detail: {
            why: named
              ? `entry ${tip.seq + 1}, which the chain's head records, cut short after it was written`
              : 'a write cut short (no newline at the end of the log)',
            line: torn.line,
            bytes: torn.bytes,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        },
      );
    } finally {
      closeSync(fd);
    }
    return this.#tip!;
  }

  /** Appends `event` after `tip` (the log's end, under the lock). */
  async #write(tip: Tip, event: AuditEvent): Promise<AuditEntry> {
    const body = {
      seq: tip.seq + 1,
      at: new Date().toISOString(),
      prev: tip.hash,
      ...event,
    };
    const entry: AuditEntry = { ...body, hash: entryHash(body) };
    const line = Buffer.from(`${this.#encode(JSON.stringify(entry))}\n`);
    const recorded = this.#recordedOrUndefined();
    const fd = openSync(this.path, 'a', 0o600);
    try {
      // A write may be short (a disk filling up): the rest is written
      // after it, and a line that cannot be finished is taken back, so
      // no torn line is left behind a process that goes on.
      let done = 0;
      try {
        while (done < line.length)
          done += writeSync(fd, line, done, line.length - done);
        fdatasyncSync(fd);
      } catch (err) {
        if (done > 0) ftruncateSync(fd, tip.size);
        throw err;
      }
    } finally {
      closeSync(fd);
    }
    this.#tip = {
      size: tip.size + line.length,
      seq: entry.seq,
      hash: entry.hash,
    };
    // No head yet (a new log, or one from before heads were kept): one
    // is recorded. One that does not read is left for verify to report.
    if (recorded === undefined || this.#extends(tip, recorded))
      await writeLakeFile(
        this.#root,
        HEAD_KEY,
        `${JSON.stringify({ entries: entry.seq, hash: entry.hash, at: entry.at } satisfies AuditHead)}\n`,
      );
    return entry;
  }

  /** The recorded head: undefined when there is none, null when it does not read. */
  #recordedOrUndefined(): AuditHead | undefined | null {
    try {
      return this.head();
    } catch {
      return null; // unreadable: kept as it is, for verify to report
    }
  }

  /** True when the log whose last entry is `tip` holds the head's entry. */
  #extends(
    tip: { seq: number; hash: string },
    head: AuditHead | null,
  ): boolean {
    if (!head || tip.seq < head.entries) return false;
    if (tip.seq === head.entries) return tip.hash === head.hash;
    // Ahead of its head (a crash after an append, a backup copied between
    // the two): the entry at the head's place must still be the one.
    return this.#hashAt(head.entries) === head.hash;
  }

  /** The hash of the log's n-th entry, or undefined. */
  #hashAt(n: number): string | undefined {
    const line = readFileSync(this.path, 'utf8').split('\n').filter(Boolean)[
      n - 1
    ];
    try {
      return line
        ? (JSON.parse(this.#decode(line)) as AuditEntry).hash
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The log's last entry and size, and its torn tail when it has one.
   * @throws AccessError AUDIT_BROKEN when its last whole line is not an
   * entry: damage or an edit, not a write cut short (see TornTail).
   */
  #currentTip(): Tip {
    if (!existsSync(this.path)) return { size: 0, seq: 0, hash: GENESIS };
    const size = statSync(this.path).size;
    if (this.#tip?.size === size) return this.#tip;
    if (size === 0) return { size: 0, seq: 0, hash: GENESIS };
    const { end, last } = readEnd(this.path, size);
    const torn =
      end < size
        ? {
            line: lineCount(this.path, end) + 1,
            offset: end,
            bytes: size - end,
          }
        : undefined;
    if (last === undefined)
      return { size, seq: 0, hash: GENESIS, ...(torn ? { torn } : {}) };
    const entry = this.#entryOf(last);
    if (!entry) throw this.#damaged(lineCount(this.path, end), true);
    return {
      size,
      seq: entry.seq,
      hash: entry.hash,
      ...(torn ? { torn } : {}),
    };
  }

  /** The entry a stored line holds, or undefined when it holds none. */
  #entryOf(line: string): AuditEntry | undefined {
    try {
      const e = JSON.parse(this.#decode(line)) as AuditEntry;
      return Number.isInteger(e.seq) &&
        typeof e.hash === 'string' &&
        /^[0-9a-f]{64}$/.test(e.hash)
        ? e
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** AUDIT_BROKEN for whole line `line`, which is not an entry. */
  #damaged(line: number, appending: boolean): AccessError {
    const what = openLakeCipher(this.#root)
      ? "an entry sealed under this lake's key"
      : 'an audit entry';
    return new AccessError(
      AccessErrorCode.AuditBroken,
      `${this.path} line ${line} is not ${what}: a whole line (ended by a newline), so damage or an edit, not a write cut short${appending ? '; nothing is appended after it' : ''}. Keep a copy of the file; the log and its head (state/audit-head.json) of the last backup verify (lpacs restore into a new directory), without the entries since`,
    );
  }

  /** The whole lines of the log (not a torn tail), and its torn tail. */
  #lines(): { lines: string[]; torn?: TornTail } {
    if (!existsSync(this.path)) return { lines: [] };
    const { text, size } = wholeText(this.path);
    const end = Buffer.byteLength(text);
    const lines = text.split('\n').filter(Boolean);
    return end < size
      ? {
          lines,
          torn: { line: lines.length + 1, offset: end, bytes: size - end },
        }
      : { lines };
  }

  /**
   * Every entry, oldest first (a torn tail left out).
   * @throws AccessError AUDIT_BROKEN naming the first line that is not one.
   */
  entries(): AuditEntry[] {
    return this.#lines().lines.map((l, i) => {
      const e = this.#entryOf(l);
      if (!e) throw this.#damaged(i + 1, false);
      return e;
    });
  }

  /** Entries matching `q`, newest first. */
  query(q: AuditQuery = {}): AuditEntry[] {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 10_000);
    // A bare date as the end means the whole of that day.
    const to =
      q.to && /^\d{4}-\d{2}-\d{2}$/.test(q.to) ? `${q.to}T23:59:59.999Z` : q.to;
    return this.entries()
      .filter(
        (e) =>
          (!q.actor || e.actor === q.actor) &&
          (!q.action || e.action === q.action) &&
          (!q.from || e.at >= q.from) &&
          (!to || e.at <= to),
      )
      .reverse()
      .slice(0, limit);
  }

  /**
   * Recomputes the chain, and checks it against its recorded head and,
   * when given, an `anchor` kept elsewhere (entries and hash as verify,
   * lpacs status or /metrics gave them): the log must hold that entry.
   * @throws AccessError AUDIT_BROKEN naming the first entry that does not
   * follow from the one before, or the head or anchor the log falls short
   * of (entries deleted from its end, the file emptied or deleted) or
   * disagrees with (rewritten).
   */
  verify(anchor?: { entries: number; hash: string }): AuditVerified {
    const recorded = this.head() ?? null;
    let prev = GENESIS;
    let seq = 0;
    const { lines, torn } = this.#lines();
    const parsed: AuditEntry[] = [];
    for (const [i, line] of lines.entries()) {
      const entry = this.#entryOf(line);
      if (!entry) throw this.#damaged(i + 1, false);
      const { hash, ...body } = entry;
      if (
        entry.seq !== seq + 1 ||
        entry.prev !== prev ||
        entryHash(body) !== hash
      )
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          `audit entry ${i + 1} (seq ${entry.seq}) does not follow from the one before: the log was edited`,
        );
      prev = hash;
      seq = entry.seq;
      parsed.push(entry);
    }
    const check = (
      held: { entries: number; hash: string },
      what: string,
    ): void => {
      if (lines.length < held.entries)
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          `the audit log holds ${lines.length} ${lines.length === 1 ? 'entry' : 'entries'} but ${what} names entry ${held.entries}: ${
            torn
              ? `line ${torn.line} is cut short (${torn.bytes} bytes, no newline), so entries written in whole were cut from its end, in the middle of one (damage or an edit: a write cut short by a crash leaves the head behind it)`
              : existsSync(this.path)
                ? lines.length
                  ? 'entries were deleted from its end'
                  : 'it was emptied'
                : 'it was deleted'
          }`,
        );
      const at = held.entries ? parsed[held.entries - 1] : undefined;
      if (at?.hash !== held.hash)
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          at?.action === 'audit.recovered'
            ? `audit entry ${held.entries} is the audit.recovered entry that set aside ${at.target ?? 'a torn line'}, not the one ${what} names (hash ${held.hash.slice(0, 16)}…): the line it set aside had been written in whole and was then cut short (damage or an edit); its bytes are in that file`
            : `audit entry ${held.entries} is not the one ${what} names (hash ${held.hash.slice(0, 16)}…): the log was rewritten`,
        );
    };
    if (recorded) check(recorded, `its head (${HEAD_KEY})`);
    if (anchor) check(anchor, 'the anchor given');
    return {
      entries: lines.length,
      head: prev,
      recorded,
      ...(torn ? { torn } : {}),
    };
  }
}
