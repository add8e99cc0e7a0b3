import { createHash, randomBytes } from 'node:crypto';
import {
  constants,
  existsSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  fsyncPath,
  makeDirectories,
  syncFileSystem,
  writeFileAtomic,
} from './fsutil';
import { LakeError, LakeErrorCode } from './LakeError';
import { LakeLayout } from './LakeLayout';
import { LakeLock } from './LakeLock';
import { compactTable, currentVersion } from './compactTable';
import type { Compaction } from './compactTable';
import { openDuckDB } from './openDuckDB';
import { openLakeCipher } from './encryption/openLakeCipher';
import { packAttributeRows } from './packedAttributes';
import type { PackedAttributes } from './packedAttributes';
import { ParquetWriter } from './ParquetWriter';
import { noteTablesChanged } from './tableChanges';
import { SCHEMAS, TABLE_NAMES } from './schemas';
import type { Logger, Row, TableName } from './types';
import { silentLogger } from './types';

/** Why a file was refused, as stored beside it in quarantine. */
export interface QuarantineReason {
  code: string;
  message: string;
  /** Where the file came from (an operator's path; steward/admin only). */
  source: string;
  at: string;
}

/**
 * The rows of one batch, by table. The `attributes` rows may come packed
 * per instance instead (see packedAttributes), or both.
 */
export type BatchRows = Partial<Record<TableName, Row[]>> & {
  packedAttributes?: PackedAttributes[];
};

interface Journal {
  batchId: string;
  moves: Array<{ from: string; to: string }>;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

/** What an erasure removed: instances, and the levels left empty. */
export interface Erased {
  instances: string[];
  series: string[];
  studies: string[];
  patients: string[];
  objects: number;
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
 * A lake directory: objects, Parquet tables, quarantine and keys. Batches
 * commit atomically: Parquet is staged and fsynced, a journal naming every
 * move is written (the commit point), then files are renamed into
 * `tables/`; an interrupted commit is rolled forward when the lake opens.
 */
export class Lake {
  readonly layout: LakeLayout;
  readonly #logger: Logger;
  readonly #parquet = new ParquetWriter();
  #lock: LakeLock | undefined;

  private constructor(root: string, logger: Logger) {
    this.layout = new LakeLayout(root);
    this.#logger = logger;
  }

  /** Opens (creating if needed) a lake and finishes interrupted commits. */
  /**
   * Opens a lake. `write` (the default) creates it if needed, takes its
   * one-writer lock and finishes interrupted commits; `read` only checks it
   * exists and changes nothing, so it is safe beside a running ingest.
   * @throws LakeError NOT_A_LAKE, LAKE_UNWRITABLE or LAKE_BUSY.
   */
  static async open(
    root: string,
    logger: Logger = silentLogger,
    mode: 'write' | 'read' = 'write',
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
    try {
      for (const dir of [
        l.objects,
        l.tables,
        l.staging,
        l.journal,
        l.quarantine,
        l.keys,
      ]) {
        await makeDirectories(dir);
      }
      await access(root, constants.W_OK);
    } catch (err) {
      throw new LakeError(
        LakeErrorCode.Unwritable,
        `lake directory ${root} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    lake.#lock = LakeLock.acquire(l.lock, root);
    try {
      for (const table of TABLE_NAMES) await currentVersion(l, table);
      // Also drops objects a killed writer left half-written in staging.
      await lake.#recover();
    } catch (err) {
      lake.close();
      throw err;
    }
    return lake;
  }

  /** A handle for workers: no directory creation, no recovery. */
  static attach(root: string, logger: Logger = silentLogger): Lake {
    return new Lake(root, logger);
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
      await writeFileAtomic(path, JSON.stringify(initial, null, 2) + '\n');
      return initial;
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
      await writeFileAtomic(path, cipher ? cipher.seal(text) : text, 0o600);
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
    const tmp = join(this.layout.objectStaging, `${sha256}.${threadId}`);
    const stored = openLakeCipher(this.root)?.seal(bytes) ?? bytes;
    try {
      writeFileSync(tmp, stored);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(this.layout.objectStaging, { recursive: true });
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

  /** Keeps a refused file and its reason under quarantine/<id>/. */
  async quarantine(
    bytes: Buffer | undefined,
    reason: QuarantineReason,
  ): Promise<string> {
    const id = createHash('sha256')
      .update(bytes ?? `${reason.source}\0${reason.code}\0${reason.message}`)
      .digest('hex')
      .slice(0, 32);
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

  /** Every quarantined file's reason, newest first. */
  async quarantined(): Promise<Array<QuarantineReason & { id: string }>> {
    const out: Array<QuarantineReason & { id: string }> = [];
    const cipher = openLakeCipher(this.root);
    for (const id of await readdir(this.layout.quarantine)) {
      try {
        const stored = await readFile(
          join(this.layout.quarantine, id, 'reason.json'),
        );
        const reason = JSON.parse(
          (cipher ? cipher.open(stored, `quarantine/${id}`) : stored).toString(
            'utf8',
          ),
        ) as QuarantineReason;
        out.push({ id, ...reason });
      } catch {
        // a quarantine entry being written right now
      }
    }
    return out.sort((a, b) => b.at.localeCompare(a.at));
  }

  /** Commits the rows of one batch atomically (see the class comment). */
  async commitBatch(batchId: string, rows: BatchRows): Promise<void> {
    const stagingDir = join(this.layout.staging, batchId);
    await mkdir(stagingDir, { recursive: true });
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
      const stagedDir = join(stagingDir, table);
      await mkdir(stagedDir, { recursive: true });
      const staged = join(stagedDir, 'part-0.parquet');
      if (isPacked) await this.#parquet.writePackedAttributes(packed, staged);
      else await this.#parquet.write(SCHEMAS[table], tableRows!, staged);
      await fsyncPath(staged);
      await fsyncPath(stagedDir);
      moves.push({ from: stagedDir, to: this.layout.batchDir(table, batchId) });
    }
    if (!moves.length) {
      await rm(stagingDir, { recursive: true, force: true });
      return;
    }
    await syncFileSystem(this.root); // the batch's objects, before its rows
    const journal = join(this.layout.journal, `${batchId}.json`);
    await writeFileAtomic(
      journal,
      JSON.stringify({ batchId, moves } satisfies Journal),
    );
    await this.#applyJournal(journal);
    noteTablesChanged();
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
    await rm(join(this.layout.staging, journal.batchId), {
      recursive: true,
      force: true,
    });
  }

  /** Rolls committed batches forward and drops uncommitted staging. */
  async #recover(): Promise<void> {
    for (const name of await readdir(this.layout.journal)) {
      if (!name.endsWith('.json')) continue;
      this.#logger.warn(
        { batch: name.slice(0, -5) },
        'finishing an interrupted commit',
      );
      await this.#applyJournal(join(this.layout.journal, name));
    }
    for (const name of await readdir(this.layout.staging)) {
      if (join(this.layout.staging, name) === this.layout.objectStaging)
        this.#logger.info(
          {},
          'dropping objects an earlier run left unfinished',
        );
      else this.#logger.warn({ batch: name }, 'dropping an uncommitted batch');
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
    if (!this.#lock)
      throw new LakeError(
        LakeErrorCode.Busy,
        'compaction needs a lake opened for writing',
      );
    const batchId = newBatchId();
    const out: Compaction[] = [];
    for (const table of TABLE_NAMES)
      out.push(await compactTable(this.layout, table, batchId));
    return out;
  }

  /**
   * Erases one patient (a withdrawn consent); see eraseInstances.
   * @throws LakeError when the lake is not open for writing.
   */
  async erasePatient(pseudonym: string): Promise<Erased> {
    if (!/^LP[A-Z2-7]{16}$/.test(pseudonym))
      throw new Error(
        `"${pseudonym.slice(0, 40)}" is not a PatientID of this lake (LP and 16 letters or digits)`,
      );
    return this.eraseInstances({ sql: '"PatientID" = ?', params: [pseudonym] });
  }

  /**
   * Erases the instances a condition over the `instances` table selects:
   * every table is rewritten without their rows (a series, study or
   * patient row goes when none of its instances is left; predictions on
   * them go too), every older table version is deleted, then their objects
   * and masks are removed. Returns what was erased, for the caller to flag
   * releases and audit.
   * @throws LakeError when the lake is not open for writing.
   */
  async eraseInstances(where: {
    sql: string;
    params: Array<string | number>;
  }): Promise<Erased> {
    if (!this.#lock)
      throw new LakeError(
        LakeErrorCode.Busy,
        'erasure needs a lake opened for writing',
      );
    const glob = join(this.layout.table('instances'), '*', '*.parquet');
    const source = `read_parquet('${glob.replace(/'/g, "''")}')`;
    const db = await openDuckDB(1);
    const conn = await db.connect();
    let rows: Array<Record<string, unknown>> = [];
    const kept = {
      series: new Set<string>(),
      studies: new Set<string>(),
      patients: new Set<string>(),
    };
    try {
      if ((await this.batches('instances')).length > 0) {
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
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    // UIDs and pseudonyms come from the index and are checked, so they can
    // be written into the rewrite's SQL as literals.
    const literal = (v: string) => {
      if (!/^[0-9.]+$|^LP[A-Z2-7]{16}$/.test(v))
        throw new Error('an indexed UID or PatientID has an unexpected form');
      return `'${v}'`;
    };
    const list = (values: Iterable<string>) =>
      [...new Set(values)].map(literal).join(', ');
    const sops = [...new Set(rows.map((r) => String(r.sop)))];
    const gone = (key: 'series' | 'study' | 'patient', keep: Set<string>) =>
      [...new Set(rows.map((r) => String(r[key])))].filter((v) => !keep.has(v));
    const series = gone('series', kept.series);
    const studies = gone('study', kept.studies);
    const patients = gone('patient', kept.patients);
    if (sops.length) {
      const batchId = newBatchId();
      const drops: Partial<Record<TableName, string | undefined>> = {
        instances: `"SOPInstanceUID" IN (${list(sops)})`,
        attributes: `"SOPInstanceUID" IN (${list(sops)})`,
        predictions: series.length
          ? `"SOPInstanceUID" IN (${list(sops)}) OR "SeriesInstanceUID" IN (${list(series)})`
          : `"SOPInstanceUID" IN (${list(sops)})`,
        series: series.length
          ? `"SeriesInstanceUID" IN (${list(series)})`
          : undefined,
        studies: studies.length
          ? `"StudyInstanceUID" IN (${list(studies)})`
          : undefined,
        patients: patients.length
          ? `"PatientID" IN (${list(patients)})`
          : undefined,
      };
      for (const table of TABLE_NAMES) {
        const drop = drops[table];
        if (drop) await compactTable(this.layout, table, batchId, drop);
      }
    }
    let objects = 0;
    for (const r of rows) {
      const key = String(r.key);
      if (!/^objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.dcm$/.test(key)) continue;
      await rm(join(this.root, key), { force: true });
      objects++;
    }
    // Masks and SEG objects name the instance they were made from.
    for (const file of await listFiles(join(this.root, 'masks')))
      if (sops.some((s) => file.includes(s))) await rm(file, { force: true });
    await syncFileSystem(this.root);
    return { instances: sops, series, studies, patients, objects };
  }

  /** Ids of committed batches of a table, oldest first. */
  async batches(table: TableName = 'instances'): Promise<string[]> {
    try {
      const names = await readdir(this.layout.table(table));
      return names
        .filter((n) => n.startsWith('batch='))
        .map((n) => n.slice(6))
        .sort();
    } catch {
      return [];
    }
  }

  close(): void {
    this.#parquet.close();
    if (this.#lock) {
      try {
        // Empty once every object written was renamed into place.
        rmdirSync(this.layout.objectStaging);
      } catch {
        // absent, or a crashed writer's leftovers: dropped at next open
      }
    }
    this.#lock?.release();
    this.#lock = undefined;
  }
}
