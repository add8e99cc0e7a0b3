import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AccessError, AccessErrorCode } from './AccessError';
import { withFileLock } from './JsonDocument';
import { openLakeCipher } from '@lpacs/lake';

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

/** Filters for reading the log; all optional. */
export interface AuditQuery {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  limit?: number;
}

const GENESIS = '0'.repeat(64);

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
  readonly #root: string;
  #tip: { size: number; seq: number; hash: string } | undefined;

  constructor(lakeRoot: string) {
    this.#root = lakeRoot;
    this.path = join(lakeRoot, 'audit', 'audit.ndjson');
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

  /** Appends one event and returns the stored entry. */
  async append(event: AuditEvent): Promise<AuditEntry> {
    await mkdir(dirname(this.path), { recursive: true });
    return withFileLock(this.path, () => {
      const tip = this.#currentTip();
      const body = {
        seq: tip.seq + 1,
        at: new Date().toISOString(),
        prev: tip.hash,
        ...event,
      };
      const entry: AuditEntry = { ...body, hash: entryHash(body) };
      const line = `${this.#encode(JSON.stringify(entry))}\n`;
      appendFileSync(this.path, line, { mode: 0o600 });
      this.#tip = {
        size: tip.size + Buffer.byteLength(line),
        seq: entry.seq,
        hash: entry.hash,
      };
      return entry;
    });
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
   * Recomputes the chain. @throws AccessError AUDIT_BROKEN naming the first
   * entry that does not follow from the one before.
   */
  verify(): { entries: number; head: string } {
    let prev = GENESIS;
    let seq = 0;
    const lines = existsSync(this.path)
      ? readFileSync(this.path, 'utf8').split('\n').filter(Boolean)
      : [];
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
    }
    return { entries: lines.length, head: prev };
  }
}
