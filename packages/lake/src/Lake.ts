import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash, randomBytes } from 'node:crypto';
import {
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import {
  access,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  createFileAtomic,
  fsyncPath,
  makeDirectories,
  syncFileSystem,
  writeFileAtomic,
} from './fsutil';
import { LakeError, LakeErrorCode } from './LakeError';
import { LakeLayout } from './LakeLayout';
import { LakeLocks, busyError, isLive, isMine } from './LakeLocks';
import { checkLakeRoot } from './lakeListing';
import { sweepObjects } from './sweepObjects';
import type { Sweep } from './sweepObjects';
import { compactTable, currentVersion } from './compactTable';
import type { Compaction } from './compactTable';
import { openDuckDB } from './openDuckDB';
import { LakeCipher } from './encryption/LakeCipher';
import { openLakeCipher } from './encryption/openLakeCipher';
import { masksMadeFrom, prepareMaskNaming } from './encryption/maskNames';
import { packAttributeRows } from './packedAttributes';
import type { PackedAttributes } from './packedAttributes';
import { ParquetWriter } from './ParquetWriter';
import { tableSource } from './encryption/tableKeys';
import { noteTablesChanged } from './tableChanges';
import { SCHEMAS, TABLE_NAMES } from './schemas';
import { sqlString } from './sqlString';
import {
  readErasurePlan,
  removeErasurePlan,
  writeErasurePlan,
} from './erasure/ErasurePlan';
import type { ErasurePlan, ErasureStep } from './erasure/ErasurePlan';
import type { Logger, Row, TableName } from './types';
import { silentLogger } from './types';

/** Why a file was refused, as stored beside it in quarantine. */
export interface QuarantineReason {
  code: string;
  message: string;
  /** Where the file came from (an operator's path; steward/admin only). */
  source: string;
  at: string;
  /**
   * The lake's pseudonym of the file's patient, and its study's lake UID,
   * when they could be read: an erasure finds the entry by them without
   * reading the original. Never the original values.
   */
  patient?: string;
  study?: string;
}

/**
 * The rows of one batch, by table. The `attributes` rows may come packed
 * per instance instead (see packedAttributes), or both.
 */
export type BatchRows = Partial<Record<TableName, Row[]>> & {
  packedAttributes?: PackedAttributes[];
};

/**
 * How a lake is opened: `write` alone (no other writer may run: what
 * compaction, erasure and key rotation need), `append` beside other
 * appending processes (ingest, predictions), `read` without any lock.
 */
export type LakeMode = 'write' | 'append' | 'read';

/**
 * Called by commitBatch under the lake's mutex, just before the batch
 * becomes visible, with the SOP Instance UIDs (and SHA-256) of instances
 * other writers committed since the previous call. Returns the rows to
 * commit instead, or undefined to commit them as they are.
 */
export type Reconcile = (
  others: ReadonlyMap<string, string>,
) => BatchRows | undefined;

/** The quarantine as it reads: see Lake.quarantineListing. */
export interface QuarantineListing {
  entries: Array<QuarantineReason & { id: string }>;
  /** Entries whose reason cannot be read, with the error's code. */
  unreadable: Array<{ id: string; error: string }>;
}

/** What to say of entries whose reason cannot be read. */
export function unreadableText(
  listing: QuarantineListing,
  dir: string,
): string {
  const { unreadable } = listing;
  const codes = [...new Set(unreadable.map((u) => u.error))].join(', ');
  const n = unreadable.length;
  const all = n + listing.entries.length;
  return `${n} of ${all} quarantine ${all === 1 ? 'entry' : 'entries'} in ${dir} cannot be read (${codes})${codes.includes('EACCES') ? ": run as the lake's owner" : ''}`;
}

/** A folder that is not there lists as empty; any other error is thrown. */
function missingAsEmpty(err: NodeJS.ErrnoException): string[] {
  if (err.code === 'ENOENT') return [];
  throw err;
}

/** A quarantine entry's id: the first 32 hex digits of a SHA-256. */
const QUARANTINE_ID = /^[0-9a-f]{32}$/;

interface Journal {
  batchId: string;
  /** The batch's staging folder (absent in journals of older versions). */
  staging?: string;
  moves: Array<{ from: string; to: string }>;
}

/** The files below `dir`, or undefined when there is no such folder. */
async function countFiles(dir: string): Promise<number | undefined> {
  try {
    const entries = await readdir(dir, {
      recursive: true,
      withFileTypes: true,
    });
    return entries.filter((e) => e.isFile()).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What an erasure removed: instances, and the levels left empty. */
export interface Erased {
  instances: string[];
  series: string[];
  studies: string[];
  patients: string[];
  objects: number;
}

/** The nearest of `path` and its parents that exists and is not a folder. */
function fileInPath(path: string): string | undefined {
  for (let at = path; ; at = dirname(at)) {
    let info;
    try {
      info = statSync(at);
    } catch {
      info = undefined; // missing, or below a file: look further up
    }
    if (info) return info.isDirectory() ? undefined : at;
    if (dirname(at) === at) return undefined;
  }
}

/** A new batch id: sortable by time, unique across workers. */
export function newBatchId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/**
 * The id of a quarantine entry: the first 32 hex digits of the SHA-256 of
 * the original's bytes (or of its reason, when no bytes were kept). The
 * same file refused again rewrites its entry, and an ingest can tell a
 * quarantined original by its hash.
 */
export function quarantineId(kept: Uint8Array | string): string {
  return createHash('sha256').update(kept).digest('hex').slice(0, 32);
}

/** A process's hold on a lake (see Lake.hold). */
export interface LakeHold {
  /** Gives the hold up; safe to call again. */
  release(): void;
}

/**
 * A lake directory: objects, Parquet tables, quarantine and keys. Batches
 * commit atomically: Parquet is staged and fsynced, a journal naming every
 * move is written (the commit point), then files are renamed into
 * `tables/`; an interrupted commit is rolled forward by the next process
 * that opens the lake for writing once the writer that made it is gone.
 * Several processes may append at once (`append` mode): each stages and
 * journals in folders of its own, and commits under the lake's mutex.
 */
export class Lake {
  readonly layout: LakeLayout;
  readonly #logger: Logger;
  readonly #parquet: ParquetWriter;
  #mode: LakeMode = 'read';
  #locks: LakeLocks | undefined;
  /** This handle's lock entry, which also names its staging and journal. */
  #writer: string | undefined;
  #objectStaging: string | undefined;
  /** Batches of `instances` this handle has read or written. */
  readonly #seen = new Set<string>();
  /** Instances of other writers' batches not yet handed to a Reconcile. */
  #learned = new Map<string, string>();

  private constructor(root: string, logger: Logger) {
    this.layout = new LakeLayout(root);
    this.#logger = logger;
    this.#parquet = new ParquetWriter(root);
  }

  /**
   * Opens a lake. `write` (the default) creates it if needed, takes it for
   * this process alone and finishes every interrupted commit; `append`
   * does the same beside other appending processes, finishing only the
   * commits of writers that are gone; `read` only checks it exists and
   * changes nothing, so it is safe beside writers.
   * @throws LakeError NOT_A_LAKE (also for a folder that holds other files
   * and no lake: see checkLakeRoot), LAKE_UNWRITABLE or LAKE_BUSY (naming
   * the processes in the way: any writer for `write`, a `write` for
   * `append`).
   */
  static async open(
    root: string,
    logger: Logger = silentLogger,
    mode: LakeMode = 'write',
  ): Promise<Lake> {
    const lake = new Lake(root, logger);
    const l = lake.layout;
    // An encrypted lake refuses to open without its KEK before anything is
    // written (KEK_REQUIRED, KEK_WRONG).
    openLakeCipher(root);
    if (mode === 'read') {
      if (!existsSync(l.tables)) {
        throw new LakeError(
          LakeErrorCode.NotALake,
          `no lake at ${root} (create one with lpacs init or lpacs ingest)`,
        );
      }
      return lake;
    }
    await checkLakeRoot(root);
    try {
      for (const dir of [
        l.objects,
        l.tables,
        l.staging,
        l.journal,
        l.quarantine,
        l.keys,
        l.locks,
      ]) {
        await makeDirectories(dir);
      }
      await access(root, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A file where the lake's folder, or a folder above it, should be.
      const file =
        code === 'ENOTDIR' || code === 'EEXIST' ? fileInPath(root) : undefined;
      throw new LakeError(
        LakeErrorCode.Unwritable,
        file === undefined
          ? `lake directory ${root} is not writable (${code ?? 'error'})`
          : file === root
            ? `lake directory ${root} is not a directory but a file: give --lake a folder, new or empty`
            : `lake directory ${root} cannot be made: ${file} is a file, not a directory`,
      );
    }
    const locks = new LakeLocks(l.locks, root);
    await locks.withMutex(async () => {
      const entries = locks.entries().filter((e) => e.kind !== 'mutex');
      const live = entries.filter(isLive);
      const blocking =
        mode === 'write' ? live : live.filter((e) => e.kind === 'exclusive');
      if (blocking.length) throw busyError(root, blocking);
      // Data added now could be data the erasure still has to remove
      // (the same instance ingested again lands on an object it deletes).
      if (mode === 'append' && existsSync(l.erasure))
        throw new LakeError(
          LakeErrorCode.ErasurePending,
          `an erasure of ${root} was interrupted and must finish before data is added: run lpacs erase resume --lake ${root}`,
        );
      const writer = locks.add(mode === 'write' ? 'exclusive' : 'writer');
      lake.#mode = mode;
      lake.#locks = locks;
      lake.#writer = writer;
      lake.#objectStaging = l.objectStaging(writer);
      try {
        for (const table of TABLE_NAMES) await currentVersion(l, table);
        // Under the mutex: no other process recovers the same writer, and
        // no commit runs meanwhile. Drops half-written objects too.
        await lake.#recover(new Set([writer, ...live.map((e) => e.name)]));
        for (const e of entries) if (!isLive(e)) locks.remove(e.name);
        for (const name of await lake.#instanceBatches()) lake.#seen.add(name);
      } catch (err) {
        lake.close();
        throw err;
      }
    });
    return lake;
  }

  /**
   * Holds the lake for a process that may commit to it at any time while
   * it runs, without keeping a writer open in between (`lpacs serve` and
   * its prediction jobs, STOW-RS and sync receive; `lpacs predict`): a
   * `hold` entry in `locks/` keeps out what needs the lake alone
   * (compaction, erasure, key rotation get LAKE_BUSY naming `what`) and
   * lets writers append beside it. It goes with release() or when the
   * process exits; one a killed process left counts for nothing.
   * @throws LakeError LAKE_BUSY while a process has the lake to itself.
   */
  static async hold(root: string, what: string): Promise<LakeHold> {
    const dir = new LakeLayout(root).locks;
    await makeDirectories(dir);
    const locks = new LakeLocks(dir, root);
    const name = await locks.withMutex(async () => {
      const alone = locks
        .entries()
        .filter((e) => e.kind === 'exclusive' && isLive(e));
      if (alone.length) throw busyError(root, alone);
      return locks.add('hold', what);
    });
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.off('exit', release);
      locks.remove(name);
    };
    // A second Ctrl-C exits at once: the entry goes all the same.
    process.on('exit', release);
    return { release };
  }

  /**
   * A handle for worker threads of a writer: objects only, written through
   * the writer's `objectStaging`; no directory creation, no recovery.
   */
  static attach(
    root: string,
    objectStaging: string,
    logger: Logger = silentLogger,
  ): Lake {
    const lake = new Lake(root, logger);
    lake.#objectStaging = objectStaging;
    return lake;
  }

  /** Where this writer's objects are written before their rename. */
  get objectStaging(): string {
    if (!this.#objectStaging)
      throw new LakeError(
        LakeErrorCode.Unwritable,
        `lake ${this.root} is open for reading only`,
      );
    return this.#objectStaging;
  }

  get root(): string {
    return this.layout.root;
  }

  /**
   * The lake's settings (`lake.json`), written once with `initial` when the
   * lake has none: settings that shape stored data (de-identification
   * options) must not change under it.
   */
  async settings(
    initial: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const path = this.layout.settings;
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        Array.isArray(parsed)
      ) {
        throw new LakeError(
          LakeErrorCode.Corrupt,
          `${path} must hold a JSON object`,
        );
      }
      return parsed as Record<string, unknown>;
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new LakeError(
          LakeErrorCode.Corrupt,
          `${path} is not valid JSON: ${err.message}`,
        );
      }
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Another writer of a new lake may be creating it too: one wins.
      if (await createFileAtomic(path, JSON.stringify(initial, null, 2) + '\n'))
        return initial;
      return this.settings(initial);
    }
  }

  /** The site secret (keys/site.key, 0600), created on first use. */
  async siteSecret(): Promise<Buffer> {
    const path = this.layout.siteKey;
    const cipher = openLakeCipher(this.root);
    try {
      const stored = await readFile(path);
      const hex = (cipher ? cipher.open(stored, 'keys/site.key') : stored)
        .toString('utf8')
        .trim();
      const secret = Buffer.from(hex, 'hex');
      if (secret.length < 32)
        throw new LakeError(
          LakeErrorCode.Corrupt,
          `${path} holds fewer than 32 bytes`,
        );
      return secret;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const secret = randomBytes(32);
      const text = Buffer.from(secret.toString('hex') + '\n');
      // Two writers starting on a new lake must not each keep a secret of
      // their own: the same patient would get two pseudonyms.
      const sealed = cipher ? cipher.seal(text) : text;
      if (!(await createFileAtomic(path, sealed, 0o600)))
        return this.siteSecret();
      this.#logger.info({ path }, 'created site secret');
      return secret;
    }
  }

  /**
   * Stores a de-identified object by content; returns its key. Idempotent.
   * Synchronous on purpose: it runs in ingest worker threads, where a
   * blocking write is cheaper than a trip through the libuv pool. Not
   * fsynced: commitBatch flushes the file system before any row that
   * references the object becomes visible.
   */
  putObjectSync(bytes: Buffer, sha256: string): string {
    const key = this.layout.objectKey(sha256);
    const path = join(this.root, key);
    // Always written, even when the name exists: after a crash an object
    // renamed but never flushed can be empty or short. Only instances not
    // yet indexed get here, so that is rare. Written beside, then renamed:
    // a reader never finds a partial object under a final name.
    const staging = this.objectStaging;
    const tmp = join(staging, `${sha256}.${threadId}`);
    const stored = openLakeCipher(this.root)?.seal(bytes) ?? bytes;
    try {
      writeFileSync(tmp, stored);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(staging, { recursive: true });
      writeFileSync(tmp, stored);
    }
    try {
      renameSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(path), { recursive: true });
      renameSync(tmp, path);
    }
    return key;
  }

  /**
   * Stores a batch's encrypted linkage records (0600), written whole or
   * not at all. The records are sealed by the de-identifier; the lake
   * never sees them in the clear.
   */
  async writeLinkage(batchId: string, sealed: string[]): Promise<void> {
    const text = Buffer.from(`${sealed.join('\n')}\n`);
    await writeFileAtomic(
      join(this.layout.linkage, `${batchId}.ndjson`),
      openLakeCipher(this.root)?.seal(text) ?? text,
      0o600,
    );
  }

  /**
   * Loads the Parquet writer (DuckDB) ahead of the first commit: an ingest
   * overlaps it with starting its workers instead of paying it at the end.
   */
  warmWriter(): Promise<void> {
    return this.#parquet.warm();
  }

  /** Keeps a refused file and its reason under quarantine/<id> (quarantineId). */
  async quarantine(
    bytes: Buffer | undefined,
    reason: QuarantineReason,
  ): Promise<string> {
    const id = quarantineId(
      bytes ?? `${reason.source}\0${reason.code}\0${reason.message}`,
    );
    const dir = join(this.layout.quarantine, id);
    // Quarantined files are originals, PHI and all: sealed too.
    const cipher = openLakeCipher(this.root);
    const seal = (b: Buffer) => cipher?.seal(b) ?? b;
    if (bytes) await writeFileAtomic(join(dir, 'file.dcm'), seal(bytes), 0o600);
    await writeFileAtomic(
      join(dir, 'reason.json'),
      seal(Buffer.from(JSON.stringify(reason, null, 2) + '\n')),
      0o600,
    );
    return id;
  }

  /**
   * Every quarantine entry: the reasons that read, newest first, and the
   * entries whose reason does not (unreadable: not this process's to read,
   * a disk error, a seal that does not open), by id with a code for why.
   * An entry whose reason is missing is one being written or dropped right
   * now, and is left out.
   */
  async quarantineListing(): Promise<QuarantineListing> {
    const entries: Array<QuarantineReason & { id: string }> = [];
    const unreadable: Array<{ id: string; error: string }> = [];
    const cipher = openLakeCipher(this.root);
    for (const id of await readdir(this.layout.quarantine).catch(
      missingAsEmpty,
    )) {
      let stored: Buffer;
      try {
        stored = await readFile(
          join(this.layout.quarantine, id, 'reason.json'),
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // a quarantine entry being written or dropped right now
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        unreadable.push({ id, error: code ?? 'READ_FAILED' });
        continue;
      }
      try {
        const reason = JSON.parse(
          (cipher ? cipher.open(stored, `quarantine/${id}`) : stored).toString(
            'utf8',
          ),
        ) as QuarantineReason;
        entries.push({ id, ...reason });
      } catch {
        unreadable.push({ id, error: cipher ? 'UNSEALABLE' : 'NOT_JSON' });
      }
    }
    entries.sort((a, b) => b.at.localeCompare(a.at));
    return { entries, unreadable };
  }

  /**
   * Every quarantined file's reason, newest first.
   * @throws LakeError QUARANTINE_UNREADABLE when any entry's reason cannot
   * be read: a list without it would pass for the whole quarantine.
   */
  async quarantined(): Promise<Array<QuarantineReason & { id: string }>> {
    const listing = await this.quarantineListing();
    if (listing.unreadable.length)
      throw new LakeError(
        LakeErrorCode.QuarantineUnreadable,
        unreadableText(listing, this.layout.quarantine),
      );
    return listing.entries;
  }

  /**
   * The stored original of a quarantine entry (opened, in an encrypted
   * lake), or undefined when the entry kept only its reason: a damaged
   * archive or an unreadable source left no bytes.
   * @throws LakeError NOT_FOUND for an id that names no entry.
   */
  async quarantinedOriginal(id: string): Promise<Buffer | undefined> {
    const dir = this.#quarantineEntry(id);
    let stored: Buffer;
    try {
      stored = await readFile(join(dir, 'file.dcm'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (existsSync(dir)) return undefined;
      throw new LakeError(
        LakeErrorCode.NotFound,
        `no quarantine entry ${id} in ${this.root}`,
      );
    }
    const cipher = openLakeCipher(this.root);
    return cipher ? cipher.open(stored, `quarantine/${id}/file.dcm`) : stored;
  }

  /**
   * The size of every quarantined original (as received, not as sealed)
   * by entry id; entries that kept only their reason are left out. An
   * ingest reads it once per run, to hash only inputs of these sizes.
   */
  async quarantinedSizes(): Promise<Map<string, number>> {
    const dir = this.layout.quarantine;
    const overhead = openLakeCipher(this.root) ? LakeCipher.overhead : 0;
    const sizes = new Map<string, number>();
    // TODO: one stat per entry per run; a server whose quarantine holds
    // 100 000 files pays about 0.2 s on every STOW-RS request.
    for (const id of await readdir(dir).catch(missingAsEmpty)) {
      if (!QUARANTINE_ID.test(id)) continue;
      try {
        const info = await stat(join(dir, id, 'file.dcm'));
        sizes.set(id, info.size - overhead);
      } catch (err) {
        // an entry without a file, or one being dropped; anything else
        // (EACCES) would hide an original from retry and erasure
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return sizes;
  }

  /**
   * Deletes a quarantine entry, original and reason; false when there was
   * none. The original goes first: a crash half-way leaves an entry that
   * is still listed, with nothing left to retry, for a rerun to finish.
   */
  async dropQuarantined(id: string): Promise<boolean> {
    const dir = this.#quarantineEntry(id);
    if (!existsSync(dir)) return false;
    await rm(join(dir, 'file.dcm'), { force: true });
    await rm(dir, { recursive: true, force: true });
    await fsyncPath(this.layout.quarantine);
    return true;
  }

  /** The folder of a quarantine entry; the id is checked, not trusted. */
  #quarantineEntry(id: string): string {
    if (!QUARANTINE_ID.test(id))
      throw new LakeError(
        LakeErrorCode.NotFound,
        `"${id.slice(0, 40)}" is not a quarantine entry id (32 hexadecimal digits)`,
      );
    return join(this.layout.quarantine, id);
  }

  /**
   * Commits the rows of one batch atomically (see the class comment);
   * false when nothing was left to commit. In `append` mode the journal
   * and its renames happen under the lake's mutex, after `reconcile` (if
   * given) has seen what other writers committed meanwhile, so no
   * instance another writer committed first is committed again.
   */
  async commitBatch(
    batchId: string,
    rows: BatchRows,
    reconcile?: Reconcile,
  ): Promise<boolean> {
    const writer = this.#writer;
    if (!writer)
      throw new LakeError(
        LakeErrorCode.Unwritable,
        `lake ${this.root} is not open for writing`,
      );
    const stagingDir = join(this.layout.writerStaging(writer), batchId);
    let moves = await this.#stage(stagingDir, batchId, rows);
    if (!moves.length) {
      await rm(stagingDir, { recursive: true, force: true });
      return false;
    }
    await syncFileSystem(this.root); // the batch's objects, before its rows
    // Read other writers' new batches before taking the mutex, so that
    // under it there is little or nothing left to read.
    if (reconcile && this.#mode === 'append') await this.#learn();
    const commit = async (): Promise<boolean> => {
      if (reconcile) {
        if (this.#mode === 'append') await this.#learn();
        const others = this.#learned;
        this.#learned = new Map();
        const revised = reconcile(others);
        if (revised) {
          await rm(stagingDir, { recursive: true, force: true });
          moves = await this.#stage(stagingDir, batchId, revised);
          if (!moves.length) {
            await rm(stagingDir, { recursive: true, force: true });
            return false;
          }
        }
      }
      const journalDir = this.layout.writerJournal(writer);
      await mkdir(journalDir, { recursive: true });
      const journal = join(journalDir, `${batchId}.json`);
      await writeFileAtomic(
        journal,
        JSON.stringify({
          batchId,
          staging: stagingDir,
          moves,
        } satisfies Journal),
      );
      await this.#applyJournal(journal);
      this.#seen.add(`batch=${batchId}`);
      return true;
    };
    const committed =
      this.#mode === 'append'
        ? await this.#locks!.withMutex(commit)
        : await commit();
    if (committed) noteTablesChanged();
    return committed;
  }

  /** Writes a batch's Parquet under `dir`, fsynced; returns its moves. */
  async #stage(
    dir: string,
    batchId: string,
    rows: BatchRows,
  ): Promise<Journal['moves']> {
    const moves: Journal['moves'] = [];
    const packed = [
      ...(rows.packedAttributes ?? []),
      ...packAttributeRows(rows.attributes ?? []),
    ];
    for (const table of TABLE_NAMES) {
      const tableRows = rows[table];
      const isPacked = table === 'attributes';
      if (isPacked ? !packed.length : !tableRows?.length) continue;
      // A whole batch directory is staged and renamed, so a reader never
      // sees an empty batch=<id> directory.
      const stagedDir = join(dir, table);
      await mkdir(stagedDir, { recursive: true });
      const staged = join(stagedDir, await this.#parquet.fileName());
      if (isPacked) await this.#parquet.writePackedAttributes(packed, staged);
      else await this.#parquet.write(SCHEMAS[table], tableRows!, staged);
      await fsyncPath(staged);
      await fsyncPath(stagedDir);
      moves.push({ from: stagedDir, to: this.layout.batchDir(table, batchId) });
    }
    return moves;
  }

  /** Names (`batch=<id>`) of the `instances` table's batch folders. */
  async #instanceBatches(): Promise<string[]> {
    const names = await readdir(this.layout.table('instances')).catch(() => []);
    return names.filter((n) => n.startsWith('batch='));
  }

  /** Adds the instances of batches this handle has not seen to #learned. */
  async #learn(): Promise<void> {
    const dir = this.layout.table('instances');
    const files: string[] = [];
    for (const name of await this.#instanceBatches()) {
      if (this.#seen.has(name)) continue;
      this.#seen.add(name);
      for (const file of await readdir(join(dir, name)).catch(() => []))
        if (file.endsWith('.parquet')) files.push(join(dir, name, file));
    }
    if (!files.length) return;
    const rows = await this.#parquet.read(
      files,
      (source) => `SELECT "SOPInstanceUID" AS uid, sha256 FROM ${source}`,
    );
    for (const r of rows) this.#learned.set(String(r.uid), String(r.sha256));
  }

  async #applyJournal(path: string): Promise<void> {
    const journal = JSON.parse(await readFile(path, 'utf8')) as Journal;
    for (const { from, to } of journal.moves) {
      if (existsSync(to)) continue; // moved before an interruption
      if (!existsSync(from)) {
        // Neither staged nor moved: nothing left to roll forward.
        this.#logger.error(
          { batch: journal.batchId },
          'a committed batch lost its staged file',
        );
        continue;
      }
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
      await fsyncPath(dirname(to));
    }
    await rm(path, { force: true });
    await rm(journal.staging ?? join(this.layout.staging, journal.batchId), {
      recursive: true,
      force: true,
    });
  }

  /**
   * Rolls forward the committed batches of writers not in `live` and drops
   * their uncommitted staging; also what a lake of an older version (one
   * writer, no per-writer folders) left.
   */
  async #recover(live: ReadonlySet<string>): Promise<void> {
    const journal = this.layout.journal;
    for (const entry of await readdir(journal, { withFileTypes: true })) {
      const path = join(journal, entry.name);
      if (entry.isFile() && entry.name.endsWith('.json')) {
        this.#logger.warn(
          { batch: entry.name.slice(0, -5) },
          'finishing an interrupted commit',
        );
        await this.#applyJournal(path);
      } else if (entry.isDirectory() && !live.has(entry.name)) {
        for (const name of (await readdir(path)).sort()) {
          if (!name.endsWith('.json')) continue;
          this.#logger.warn(
            { batch: name.slice(0, -5) },
            'finishing an interrupted commit',
          );
          await this.#applyJournal(join(path, name));
        }
        await rm(path, { recursive: true, force: true });
      }
    }
    for (const name of await readdir(this.layout.staging)) {
      if (live.has(name)) continue;
      this.#logger.warn(
        { staged: name },
        'dropping what a stopped writer left unfinished',
      );
      await rm(join(this.layout.staging, name), {
        recursive: true,
        force: true,
      });
    }
  }

  /**
   * Merges each table's batches into one (see compactTable); readers never
   * see a missing or doubled row. Needs the write lock this handle holds.
   */
  async compact(): Promise<Compaction[]> {
    if (this.#mode !== 'write')
      throw new LakeError(
        LakeErrorCode.Busy,
        'compaction needs a lake opened for writing alone',
      );
    const batchId = newBatchId();
    const out: Compaction[] = [];
    for (const table of TABLE_NAMES)
      out.push(await compactTable(this.layout, table, batchId));
    return out;
  }

  /**
   * Compacts as `compact` does from a handle opened to append, when no
   * other process holds the lake: under the mutex it checks that no live
   * entry but its own (and its process's holds) is in `locks/` and adds
   * an `exclusive` one, which keeps other writers out (they get
   * LAKE_BUSY, as beside `lpacs compact`) until the compaction is done.
   * Undefined, changing nothing,
   * when another process (or another handle of this one) holds the lake.
   * The caller must not commit through this handle meanwhile. Lets a
   * long-running writer (`lpacs serve`'s C-STORE SCP) merge its own
   * batches, which `lpacs compact` cannot while it runs.
   */
  async compactAlone(): Promise<Compaction[] | undefined> {
    const writer = this.#writer;
    const locks = this.#locks;
    if (this.#mode !== 'append' || !writer || !locks)
      throw new LakeError(
        LakeErrorCode.Busy,
        'compactAlone needs a lake opened to append',
      );
    const exclusive = await locks.withMutex(async () => {
      const others = locks
        .entries()
        .filter(
          (e) =>
            e.kind !== 'mutex' &&
            e.name !== writer &&
            !(e.kind === 'hold' && isMine(e)) &&
            isLive(e),
        );
      return others.length ? undefined : locks.add('exclusive');
    });
    if (!exclusive) return undefined;
    try {
      const batchId = newBatchId();
      const out: Compaction[] = [];
      for (const table of TABLE_NAMES)
        out.push(await compactTable(this.layout, table, batchId));
      // The merged batch holds what this handle has seen already.
      for (const name of await this.#instanceBatches()) this.#seen.add(name);
      return out;
    } finally {
      locks.remove(exclusive);
    }
  }

  /**
   * Which of `sops` (SOP Instance UIDs) and `series` (Series Instance
   * UIDs) the `instances` table holds now. Through a handle open for
   * writing, so no erasure can run until it is closed: what it says
   * present stays so for a commit made through it (a prediction job's
   * chunk drops the rows and masks of instances erased since it selected
   * them).
   */
  async presentUIDs(
    sops: Iterable<string>,
    series: Iterable<string> = [],
  ): Promise<{ sops: Set<string>; series: Set<string> }> {
    if (!this.#writer)
      throw new LakeError(
        LakeErrorCode.Unwritable,
        `lake ${this.root} is not open for writing`,
      );
    const out = { sops: new Set<string>(), series: new Set<string>() };
    const asked = {
      sops: [...new Set(sops)],
      series: [...new Set(series)],
    };
    if (!asked.sops.length && !asked.series.length) return out;
    const db = await openDuckDB(1);
    const conn = await db.connect();
    try {
      const source = await tableSource(
        this.root,
        this.layout.table('instances'),
        conn,
      );
      if (!source) return out;
      // Quoted literals, as eraseRows writes them, a thousand at a time.
      for (const [column, values, found] of [
        ['SOPInstanceUID', asked.sops, out.sops],
        ['SeriesInstanceUID', asked.series, out.series],
      ] as const) {
        for (let i = 0; i < values.length; i += 1000) {
          const list = values
            .slice(i, i + 1000)
            .map(sqlString)
            .join(', ');
          const rows = (
            await conn.runAndReadAll(
              `SELECT DISTINCT "${column}" AS uid FROM ${source} WHERE "${column}" IN (${list})`,
            )
          ).getRowObjectsJS();
          for (const r of rows) found.add(String(r.uid));
        }
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    return out;
  }

  /**
   * Deletes the objects that no instance row and no quarantine record
   * names (see sweepObjects): what a killed writer stored ahead of a
   * commit it never made. Needs the write lock this handle holds, so no
   * other writer is storing objects meanwhile.
   */
  async sweepObjects(): Promise<Sweep> {
    if (this.#mode !== 'write')
      throw new LakeError(
        LakeErrorCode.Busy,
        'sweeping objects needs a lake opened for writing alone',
      );
    return sweepObjects(this.layout);
  }

  /**
   * What was made from instances no longer in the lake: the prediction
   * rows whose instance (a series-level row: whose series) no instance
   * row holds, by UID. A prediction job that committed after an erasure
   * of its inputs, before jobs checked their inputs at commit, left them.
   */
  async #leftovers(): Promise<{
    sops: string[];
    series: string[];
    rows: number;
  }> {
    const out = { sops: [] as string[], series: [] as string[], rows: 0 };
    const db = await openDuckDB(1);
    const conn = await db.connect();
    try {
      const predictions = await tableSource(
        this.root,
        this.layout.table('predictions'),
        conn,
      );
      if (!predictions) return out;
      const instances =
        (await tableSource(this.root, this.layout.table('instances'), conn)) ??
        `(SELECT NULL::VARCHAR AS "SOPInstanceUID", NULL::VARCHAR AS "SeriesInstanceUID" WHERE false)`;
      const rows = (
        await conn.runAndReadAll(
          `SELECT p."SOPInstanceUID" AS sop, p."SeriesInstanceUID" AS series, count(*) AS n FROM ${predictions} p
           WHERE CASE WHEN p."SOPInstanceUID" IS NOT NULL
             THEN NOT EXISTS (SELECT 1 FROM ${instances} i WHERE i."SOPInstanceUID" = p."SOPInstanceUID")
             ELSE NOT EXISTS (SELECT 1 FROM ${instances} i WHERE i."SeriesInstanceUID" = p."SeriesInstanceUID") END
           GROUP BY 1, 2`,
        )
      ).getRowObjectsJS();
      for (const r of rows) {
        if (r.sop !== null) out.sops.push(String(r.sop));
        else out.series.push(String(r.series));
        out.rows += Number(r.n);
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    out.sops = [...new Set(out.sops)];
    out.series = [...new Set(out.series)];
    return out;
  }

  /** How many prediction rows were made from instances no longer here. */
  async leftoverPredictions(): Promise<number> {
    return (await this.#leftovers()).rows;
  }

  /**
   * Removes what was made from instances no longer in the lake (see
   * #leftovers): those prediction rows (the table rewritten, older
   * versions deleted, as an erasure does) and the masks and SEG objects
   * made from the same instances or series. Needs the lake alone.
   * @returns the prediction rows and mask files removed.
   */
  async sweepLeftovers(): Promise<{ predictions: number; masks: number }> {
    this.#mustWriteAlone();
    const found = await this.#leftovers();
    if (!found.rows) return { predictions: 0, masks: 0 };
    const list = (values: string[]) => values.map(sqlString).join(', ');
    const drop = [
      ...(found.sops.length
        ? [`"SOPInstanceUID" IN (${list(found.sops)})`]
        : []),
      ...(found.series.length
        ? [
            `("SOPInstanceUID" IS NULL AND "SeriesInstanceUID" IN (${list(found.series)}))`,
          ]
        : []),
    ].join(' OR ');
    await compactTable(this.layout, 'predictions', newBatchId(), drop);
    // The masks go as an erasure's do, whatever their names (eraseObjects).
    const masks = join(this.root, 'masks');
    const before = (await countFiles(masks)) ?? 0;
    await this.eraseObjects({
      action: 'leftovers',
      target: '',
      reason: '',
      begun: new Date().toISOString(),
      tombstone: false,
      instances: found.sops,
      series: found.series,
      studies: [],
      patients: [],
      accessions: [],
      objects: [],
      done: [],
    });
    return {
      predictions: found.rows,
      masks: before - ((await countFiles(masks)) ?? 0),
    };
  }

  /**
   * Decides what erasing the instances a condition over the `instances`
   * table selects removes: their rows, the series, studies and patients
   * left with no instance, their objects, and the pseudonymous accession
   * numbers no other instance holds (their linkage goes too). Changes
   * nothing; beginErasure records the plan.
   * @throws LakeError when the lake is not open for writing alone.
   */
  async planErasure(
    where: { sql: string; params: Array<string | number> },
    about: Pick<ErasurePlan, 'action' | 'target' | 'reason' | 'tombstone'>,
  ): Promise<ErasurePlan> {
    this.#mustWriteAlone();
    const db = await openDuckDB(1);
    const conn = await db.connect();
    let rows: Array<Record<string, unknown>> = [];
    let accessions: string[] = [];
    const kept = {
      series: new Set<string>(),
      studies: new Set<string>(),
      patients: new Set<string>(),
    };
    try {
      const source = await tableSource(
        this.root,
        this.layout.table('instances'),
        conn,
      );
      if (source) {
        rows = (
          await conn.runAndReadAll(
            `SELECT "SOPInstanceUID" AS sop, "SeriesInstanceUID" AS series, "StudyInstanceUID" AS study, "PatientID" AS patient, object_key AS key FROM ${source} WHERE ${where.sql}`,
            where.params,
          )
        ).getRowObjectsJS();
        const rest = (
          await conn.runAndReadAll(
            `SELECT DISTINCT "SeriesInstanceUID" AS series, "StudyInstanceUID" AS study, "PatientID" AS patient FROM ${source} WHERE NOT coalesce((${where.sql}), false)`,
            where.params,
          )
        ).getRowObjectsJS();
        for (const r of rest) {
          kept.series.add(String(r.series));
          kept.studies.add(String(r.study));
          kept.patients.add(String(r.patient));
        }
        const attributes = await tableSource(
          this.root,
          this.layout.table('attributes'),
          conn,
        );
        // At any depth: a request attributes item repeats the number.
        if (attributes && rows.length)
          accessions = (
            await conn.runAndReadAll(
              `SELECT a.value AS v FROM ${attributes} a JOIN (SELECT "SOPInstanceUID" AS sop, coalesce((${where.sql}), false) AS gone FROM ${source}) i ON a."SOPInstanceUID" = i.sop WHERE a.tag = '00080050' AND coalesce(a.value, '') <> '' GROUP BY a.value HAVING bool_and(i.gone) ORDER BY 1`,
              where.params,
            )
          )
            .getRowObjectsJS()
            .map((r) => String(r.v));
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    const distinct = (key: string) => [
      ...new Set(rows.map((r) => String(r[key]))),
    ];
    const gone = (key: string, keep: Set<string>) =>
      distinct(key).filter((v) => !keep.has(v));
    const shared = (key: string, keep: Set<string>) =>
      distinct(key).filter((v) => keep.has(v));
    return {
      ...about,
      begun: new Date().toISOString(),
      instances: distinct('sop'),
      series: gone('series', kept.series),
      studies: gone('study', kept.studies),
      patients: gone('patient', kept.patients),
      kept: {
        series: shared('series', kept.series),
        studies: shared('study', kept.studies),
        patients: shared('patient', kept.patients),
      },
      accessions,
      objects: distinct('key'),
      done: [],
    };
  }

  /**
   * Records an erasure's plan, flushed, before anything is removed: from
   * here on a killed process leaves it for the next erasure to finish,
   * and no process may append to the lake until one has.
   * @throws LakeError ERASURE_PENDING when another erasure is unfinished.
   */
  async beginErasure(plan: ErasurePlan): Promise<void> {
    this.#mustWriteAlone();
    const pending = await readErasurePlan(this.root);
    if (pending)
      throw new LakeError(
        LakeErrorCode.ErasurePending,
        `an erasure (${pending.action}, begun ${pending.begun}) is unfinished: finish it first`,
      );
    await writeErasurePlan(this.root, plan);
  }

  /** The plan of an erasure left unfinished, or undefined. */
  pendingErasure(): Promise<ErasurePlan | undefined> {
    return readErasurePlan(this.root);
  }

  /** Marks a step of the erasure under way as done, in its plan. */
  async erasureStepDone(plan: ErasurePlan, step: ErasureStep): Promise<void> {
    this.#mustWriteAlone();
    if (!plan.done.includes(step)) plan.done.push(step);
    await writeErasurePlan(this.root, plan);
  }

  /** Deletes the plan of the erasure under way: every step is done. */
  async endErasure(): Promise<void> {
    this.#mustWriteAlone();
    await removeErasurePlan(this.root);
  }

  /**
   * Rewrites every table without the plan's rows and deletes every older
   * table version. The patient, study and series rows of the erased
   * instances' keys all go, whichever batch wrote them; a key other
   * instances still hold (see ErasurePlan.kept) gets one row again, made
   * from the latest of those instances, as ingest makes it. Predictions
   * on the erased instances go, and series-level ones of their series
   * (made from their pixels too). Safe to run again.
   */
  async eraseRows(plan: ErasurePlan): Promise<void> {
    this.#mustWriteAlone();
    if (!plan.instances.length) return;
    // UIDs and pseudonyms are written into the rewrite's SQL as quoted
    // literals: a lake that retains UIDs holds them as sent, of any form.
    const list = (values: Iterable<string>) =>
      [...new Set(values)].map(sqlString).join(', ');
    const { instances: sops, kept } = plan;
    const keys = {
      series: [...plan.series, ...(kept?.series ?? [])],
      studies: [...plan.studies, ...(kept?.studies ?? [])],
      patients: [...plan.patients, ...(kept?.patients ?? [])],
    };
    const within = (column: string, values: string[]) =>
      values.length ? `"${column}" IN (${list(values)})` : undefined;
    const erased = `"SOPInstanceUID" IN (${list(sops)})`;
    const seriesPrediction = keys.series.length
      ? ` OR ("SOPInstanceUID" IS NULL AND "SeriesInstanceUID" IN (${list(keys.series)}))`
      : '';
    const drops: Partial<Record<TableName, string | undefined>> = {
      instances: erased,
      attributes: erased,
      predictions: `${erased}${seriesPrediction}${plan.series.length ? ` OR "SeriesInstanceUID" IN (${list(plan.series)})` : ''}`,
      series: within('SeriesInstanceUID', keys.series),
      studies: within('StudyInstanceUID', keys.studies),
      patients: within('PatientID', keys.patients),
    };
    const levels = {
      series: kept?.series ?? [],
      studies: kept?.studies ?? [],
      patients: kept?.patients ?? [],
    };
    const instances = this.layout.table('instances');
    const batchId = newBatchId();
    for (const table of TABLE_NAMES) {
      const drop = drops[table];
      if (!drop) continue;
      const again =
        table === 'series' || table === 'studies' || table === 'patients'
          ? levels[table]
          : [];
      const key = SCHEMAS[table].key[0]!;
      // The kept keys' rows as ingest writes them (see levelRows): the
      // level's columns of an instance of the latest batch, read before
      // or after the instances table lost the erased rows.
      const add = again.length
        ? async (conn: DuckDBConnection) => {
            const source = await tableSource(this.root, instances, conn);
            if (!source) return undefined;
            const columns = SCHEMAS[table].columns
              .map((c) => `"${c.name}"`)
              .join(', ');
            return `SELECT ${columns} FROM ${source} WHERE "${key}" IN (${list(again)}) AND NOT ${erased} QUALIFY row_number() OVER (PARTITION BY "${key}" ORDER BY ingested_at DESC, "SOPInstanceUID" DESC) = 1`;
          }
        : undefined;
      await compactTable(this.layout, table, batchId, drop, add);
    }
  }

  /**
   * Deletes the plan's objects and the masks and SEG objects made from
   * its instances or their series, then flushes the file system. Safe to
   * run again: counts what it deleted and what was gone already.
   */
  async eraseObjects(
    plan: ErasurePlan,
  ): Promise<{ deleted: number; absent: number }> {
    this.#mustWriteAlone();
    let deleted = 0;
    let absent = 0;
    for (const key of plan.objects) {
      if (!/^objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.dcm$/.test(key)) continue;
      try {
        await rm(join(this.root, key));
        deleted++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        absent++;
      }
    }
    // Masks and SEG objects are made from an instance, a series-level one
    // from a series (see eraseRows), and named through maskNames: after
    // the UID in a lake in the clear (any form: a lake that retains UIDs
    // holds them as sent), keyed in an encrypted one.
    const made = new Set([
      ...plan.instances,
      ...plan.series,
      ...(plan.kept?.series ?? []),
    ]);
    const naming = await prepareMaskNaming(this.root);
    for (const file of await masksMadeFrom(this.root, naming, made))
      await rm(file, { force: true });
    await syncFileSystem(this.root);
    return { deleted, absent };
  }

  /**
   * Erases the instances a condition selects from the tables, objects and
   * masks (see planErasure, eraseRows, eraseObjects), through a plan kept
   * until both are done. Linkage, quarantine, tombstones and sharing are
   * the caller's: the CLI's runErasure does every step.
   * @throws LakeError when the lake is not open for writing alone.
   */
  async eraseInstances(where: {
    sql: string;
    params: Array<string | number>;
  }): Promise<Erased> {
    const plan = await this.planErasure(where, {
      action: 'erase.instances',
      target: '',
      reason: '',
      tombstone: false,
    });
    await this.beginErasure(plan);
    await this.eraseRows(plan);
    const { deleted } = await this.eraseObjects(plan);
    await this.endErasure();
    return { ...plan, objects: deleted };
  }

  #mustWriteAlone(): void {
    if (this.#mode !== 'write')
      throw new LakeError(
        LakeErrorCode.Busy,
        'erasure needs a lake opened for writing alone',
      );
  }

  /** Ids of committed batches of a table, oldest first. */
  async batches(table: TableName = 'instances'): Promise<string[]> {
    const names = await readdir(this.layout.table(table)).catch(missingAsEmpty);
    return names
      .filter((n) => n.startsWith('batch='))
      .map((n) => n.slice(6))
      .sort();
  }

  /**
   * Closes the handle and gives up its lock entry. Its staging goes too,
   * unless a journal of it is left (a commit that failed half-way): then
   * both stay for the next process that opens the lake to roll forward.
   */
  close(): void {
    this.#parquet.close();
    const writer = this.#writer;
    if (writer && this.#locks) {
      const journal = this.layout.writerJournal(writer);
      let pending: string[] = [];
      try {
        pending = readdirSync(journal);
      } catch {
        // no commit made a journal folder
      }
      if (pending.length) {
        this.#logger.error(
          { journals: pending.length },
          'a commit was left unfinished; the next writer finishes it',
        );
      } else {
        rmSync(this.layout.writerStaging(writer), {
          recursive: true,
          force: true,
        });
        rmSync(journal, { recursive: true, force: true });
      }
      this.#locks.remove(writer);
    }
    this.#writer = undefined;
    this.#locks = undefined;
    this.#objectStaging = undefined;
    this.#mode = 'read';
  }
}
