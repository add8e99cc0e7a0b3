import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AccessError, AccessErrorCode } from './AccessError';
import { withFileLock } from './JsonDocument';
import { openLakeCipher, readObjectSync, writeLakeFile } from '@lpacs/lake';

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

/** The last line of a file, read from its end. */
function lastLine(path: string, size: number): string {
  const fd = openSync(path, 'r');
  try {
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString('utf8').trimEnd().split('\n');
    return lines[lines.length - 1] ?? '';
  } finally {
    closeSync(fd);
  }
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
  #tip: { size: number; seq: number; hash: string } | undefined;

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
      const tip = this.#currentTip();
      const body = {
        seq: tip.seq + 1,
        at: new Date().toISOString(),
        prev: tip.hash,
        ...event,
      };
      const entry: AuditEntry = { ...body, hash: entryHash(body) };
      const line = `${this.#encode(JSON.stringify(entry))}\n`;
      const recorded = this.#recordedOrUndefined();
      const fd = openSync(this.path, 'a', 0o600);
      try {
        writeSync(fd, line);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.#tip = {
        size: tip.size + Buffer.byteLength(line),
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
    });
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

  #currentTip(): { size: number; seq: number; hash: string } {
    if (!existsSync(this.path)) return { size: 0, seq: 0, hash: GENESIS };
    const size = statSync(this.path).size;
    if (this.#tip?.size === size) return this.#tip;
    if (size === 0) return { size: 0, seq: 0, hash: GENESIS };
    const last = JSON.parse(
      this.#decode(lastLine(this.path, size)),
    ) as AuditEntry;
    return { size, seq: last.seq, hash: last.hash };
  }

  /** Every entry, oldest first. */
  entries(): AuditEntry[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(this.#decode(l)) as AuditEntry);
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
    const lines = existsSync(this.path)
      ? readFileSync(this.path, 'utf8').split('\n').filter(Boolean)
      : [];
    const hashes: string[] = [];
    for (const [i, line] of lines.entries()) {
      let entry: AuditEntry;
      try {
        entry = JSON.parse(this.#decode(line)) as AuditEntry;
      } catch {
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          `audit line ${i + 1} is not ${openLakeCipher(this.#root) ? "an entry sealed under this lake's key" : 'JSON'}`,
        );
      }
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
      hashes.push(hash);
    }
    const check = (
      held: { entries: number; hash: string },
      what: string,
    ): void => {
      if (lines.length < held.entries)
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          `the audit log holds ${lines.length} ${lines.length === 1 ? 'entry' : 'entries'} but ${what} names entry ${held.entries}: ${existsSync(this.path) ? (lines.length ? 'entries were deleted from its end' : 'it was emptied') : 'it was deleted'}`,
        );
      if (hashes[held.entries - 1] !== held.hash)
        throw new AccessError(
          AccessErrorCode.AuditBroken,
          `audit entry ${held.entries} is not the one ${what} names (hash ${held.hash.slice(0, 16)}…): the log was rewritten`,
        );
    };
    if (recorded) check(recorded, `its head (${HEAD_KEY})`);
    if (anchor) check(anchor, 'the anchor given');
    return { entries: lines.length, head: prev, recorded };
  }
}
