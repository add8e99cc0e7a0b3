import { availableParallelism } from 'node:os';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PROFILE_EDITION } from '@lpacs/dicom';
import { RESEARCH_DEFAULT, parseOptions } from '@lpacs/deid';
import type { DeidOptions } from '@lpacs/deid';
import {
  Catalog,
  Lake,
  LakeLayout,
  newBatchId,
  readTombstones,
  silentLogger,
} from '@lpacs/lake';
import type { BatchRows, Compaction, Logger } from '@lpacs/lake';
import type {
  IngestProgress,
  IngestReport,
  IngestTotals,
} from './IngestReport';
import { erasedMessage } from './erasedMessage';
import { levelRows } from './levelRows';
import { sameInstance } from './sameInstance';
import { StaleQuarantine } from './StaleQuarantine';
import { tallyIngested } from './tallyIngested';
import type { Ingested } from './tallyIngested';
import type { FileOutcome } from './processFile';
import type { InputFile } from './sources/InputFile';
import { WorkerPool } from './WorkerPool';

/** How a session is set up. */
export interface SessionOptions {
  /** The lake directory (created if missing). */
  lake: string;
  /** Worker threads; default: one per core. */
  workers?: number;
  /** Files per committed batch; default 1000. */
  batchSize?: number;
  /**
   * De-identification options for a new lake (default RESEARCH_DEFAULT);
   * they are recorded in its lake.json, which rules from then on.
   */
  deid?: DeidOptions;
  logger?: Logger;
}

/** What finally became of one input: the worker's outcome and the lake's verdict. */
export type Verdict = 'ingested' | 'skipped' | 'conflict' | 'quarantined';

/** Hooks of one run. */
export interface RunHooks {
  filesTotal?: number;
  onProgress?: (progress: IngestProgress) => void;
  onOutcome?: (outcome: FileOutcome, verdict: Verdict) => void;
  /**
   * A verdict its commit changed: another process writing the same lake
   * committed the same SOP Instance UID first, so a file onOutcome gave as
   * `ingested` is `skipped` (same content) or a `conflict` after all.
   */
  onRevised?: (outcome: FileOutcome, verdict: Verdict) => void;
  /**
   * A batch committed: its id and how many instances it holds. Called as
   * each commits, so a run that fails later has told which did.
   */
  onCommitted?: (batchId: string, instances: number) => void;
}

async function loadStored(root: string): Promise<Map<string, string>> {
  // A new lake has nothing to load: spare it starting DuckDB.
  const instances = new LakeLayout(root).table('instances');
  const batches = await readdir(instances).catch(() => []);
  if (!batches.some((b) => b.startsWith('batch='))) return new Map();
  const catalog = await Catalog.open(root, { threads: 1 });
  try {
    const rows = await catalog.query(
      'SELECT "SOPInstanceUID", sha256 FROM instances',
    );
    return new Map(
      rows.map((r) => [String(r.SOPInstanceUID), String(r.sha256)]),
    );
  } finally {
    await catalog.close();
  }
}

/**
 * An open lake with its worker threads, ready to ingest. The CLI opens one
 * per run; the server keeps one for STOW-RS. Runs are serialised, and each
 * run commits everything it ingested before it returns.
 */
export class IngestSession {
  readonly #lake: Lake;
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #stored: Map<string, string>;
  /**
   * Instances other processes committed while this session was open: a
   * file of this session with one of their UIDs is not committed again.
   */
  readonly #others = new Map<string, string>();
  readonly options: DeidOptions;
  #queue: Promise<unknown> = Promise.resolve();
  /** Runs handed to run() that have not ended: waiting, or under way. */
  #pendingRuns = 0;
  /** The tombstones the workers were last told of, as sent. */
  #erasedSent = '';
  readonly #totals: IngestTotals = {
    runs: 0,
    failedRuns: 0,
    filesSeen: 0,
    ingested: 0,
    skipped: 0,
    quarantined: 0,
    conflicts: 0,
    bytesRead: 0,
    busySeconds: 0,
    lastRunAt: undefined,
  };

  private constructor(
    lake: Lake,
    pool: WorkerPool,
    stored: Map<string, string>,
    options: DeidOptions,
    o: SessionOptions,
  ) {
    this.#lake = lake;
    this.#pool = pool;
    this.#stored = stored;
    this.options = options;
    this.#logger = o.logger ?? silentLogger;
    this.#batchSize = o.batchSize ?? 1000;
  }

  static async open(o: SessionOptions): Promise<IngestSession> {
    const root = resolve(o.lake);
    // Appending: other ingests (and a server's STOW-RS) may run beside it.
    const lake = await Lake.open(root, o.logger, 'append');
    try {
      const requested = o.deid ?? RESEARCH_DEFAULT;
      const settings = await lake.settings({ deidentification: requested });
      const deid = parseOptions(settings.deidentification);
      if (o.deid && JSON.stringify(o.deid) !== JSON.stringify(deid)) {
        throw new Error(
          `this lake was created with other de-identification options (${lake.layout.settings}); ingest into a new lake to use new ones`,
        );
      }
      const secret = await lake.siteSecret();
      // Workers load their code while DuckDB reads what is stored.
      const pool = new WorkerPool(
        o.workers ?? Math.max(1, availableParallelism()),
        {
          lakeRoot: root,
          objectStaging: lake.objectStaging,
          secretHex: secret.toString('hex'),
          options: deid,
        },
      );
      // DuckDB's writer starts meanwhile too; the first commit awaits it
      // (and reports it if it failed), so files need not wait for it.
      lake.warmWriter().catch(() => undefined);
      let stored: Map<string, string>;
      try {
        stored = await loadStored(root);
      } catch (err) {
        await pool.close();
        throw err;
      }
      pool.share([...stored]);
      return new IngestSession(lake, pool, stored, deid, o);
    } catch (err) {
      lake.close();
      throw err;
    }
  }

  get lakeRoot(): string {
    return this.#lake.root;
  }

  /** Ingests the inputs (after any run already under way) and commits them. */
  run(
    inputs: AsyncIterable<InputFile> | Iterable<InputFile>,
    hooks: RunHooks = {},
  ): Promise<IngestReport> {
    this.#pendingRuns++;
    const next = this.#queue
      .then(() => this.#run(inputs, hooks))
      .then(
        (report) => this.#add(report),
        (err: unknown) => {
          this.#totals.failedRuns++;
          throw err;
        },
      )
      .finally(() => {
        this.#pendingRuns--;
      });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Ingest runs of this session not yet ended: the one under way and those
   * waiting behind it (runs go one at a time). A monitoring queue depth.
   */
  get pendingRuns(): number {
    return this.#pendingRuns;
  }

  /** Every run of this session so far, added up. */
  get totals(): IngestTotals {
    return { ...this.#totals };
  }

  #add(report: IngestReport): IngestReport {
    const t = this.#totals;
    t.runs++;
    t.filesSeen += report.filesSeen;
    t.ingested += report.ingested;
    t.skipped += report.skipped;
    t.quarantined += report.quarantined;
    t.conflicts += report.conflicts;
    t.bytesRead += report.bytesRead;
    t.busySeconds += report.seconds;
    t.lastRunAt = new Date().toISOString();
    return report;
  }

  #newReport(): IngestReport {
    return {
      lake: this.#lake.root,
      batches: [],
      filesSeen: 0,
      ingested: 0,
      skipped: 0,
      quarantined: 0,
      conflicts: 0,
      bytesRead: 0,
      bytesWritten: 0,
      seconds: 0,
      filesPerSecond: 0,
      megabytesPerSecond: 0,
      quarantine: [],
      quarantineSettled: [],
      conflictSources: [],
      notices: [],
      notRead: [],
      fallbackElements: [],
      deidentification: {
        profile: 'PS3.15 E.1-1 Basic Application Confidentiality Profile',
        edition: PROFILE_EDITION,
        options: this.options,
        actions: {},
        fallbacks: 0,
        notices: 0,
      },
    };
  }

  async #run(
    inputs: AsyncIterable<InputFile> | Iterable<InputFile>,
    hooks: RunHooks,
  ): Promise<IngestReport> {
    const started = process.hrtime.bigint();
    const lake = this.#lake;
    const logger = this.#logger;
    const known = this.#stored;
    const report = this.#newReport();
    await this.#shareTombstones();
    const stale = await StaleQuarantine.load(lake, logger);
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let failure: Error | undefined;
    const records: Array<Promise<unknown>> = [];
    let pending: Ingested[] = [];
    let commits = Promise.resolve();
    // Both versions stay traceable: the new one is stored as an object
    // and this record points at it (the lake keeps the first).
    const recordConflict = (o: FileOutcome, stored: string) => {
      if (o.kind === 'quarantined') return;
      records.push(
        lake.quarantine(undefined, {
          code: 'CONFLICT',
          message: `SOP Instance ${o.sopInstanceUID} is stored with other content (sha256 ${stored.slice(0, 12)}); this version is kept as ${o.objectKey}`,
          source: o.source,
          at: new Date().toISOString(),
        }),
      );
    };
    // A later file of a SOP Instance UID this run or another writer
    // already holds, in other bytes: the same instance re-encoded is
    // skipped, as a worker skips it against the lake (its object, written
    // by the worker, is dropped); anything else is a conflict. An object
    // taken as received is never re-encoded: other bytes are another version.
    const reEncoded = (o: FileOutcome, stored: string): boolean => {
      if (o.kind !== 'ingested' && o.kind !== 'conflict') return false;
      if (o.asReceived) return false;
      if (!sameInstance(lake, stored, o.sha256)) return false;
      records.push(
        rm(join(lake.root, o.objectKey), { force: true }).catch(() => {}),
      );
      return true;
    };
    // Another process committed this file's SOP Instance UID first: the
    // verdict becomes what it would have been had this run read theirs.
    const revise = (o: Ingested, stored: string) => {
      tallyIngested(report, o, -1);
      let verdict: Verdict = 'skipped';
      if (stored === o.sha256 || reEncoded(o, stored)) report.skipped++;
      else {
        verdict = 'conflict';
        report.conflicts++;
        report.conflictSources.push(o.source);
        recordConflict(o, stored);
      }
      hooks.onRevised?.(o, verdict);
    };
    const commit = () => {
      if (!pending.length) return commits;
      const batch = pending;
      pending = [];
      // The batch's rows say when it was committed (its id names the same
      // second): a server's session stays open for days, and retention
      // --before / --older-than-days goes by ingested_at.
      const now = new Date();
      const batchId = newBatchId(now);
      const ingestedAt = now.toISOString();
      const rowsOf = (files: Ingested[]) =>
        levelRows(
          files.map((o) => ({ ...o.row, ingested_at: ingestedAt })),
          files.map((o) => o.attributes),
        );
      commits = commits
        .then(async () => {
          if (failure) return;
          // Linkage first: a crash before the commit leaves a harmless
          // duplicate, never an object whose linkage was lost.
          const linkage = batch.flatMap((o) => (o.linkage ? [o.linkage] : []));
          if (linkage.length) await lake.writeLinkage(batchId, linkage);
          let kept = batch;
          const committed = await lake.commitBatch(
            batchId,
            rowsOf(batch),
            (others) => {
              kept = this.#reconcile(batch, others, revise);
              return kept === batch ? undefined : rowsOf(kept);
            },
          );
          if (!committed) return;
          report.batches.push(batchId);
          hooks.onCommitted?.(batchId, kept.length);
          logger.info({ batch: batchId, rows: kept.length }, 'committed batch');
        })
        .catch((err: Error) => {
          failure ??= err;
        });
      return commits;
    };
    const verdictOf = (o: FileOutcome): Verdict => {
      if (o.kind === 'quarantined') return 'quarantined';
      if (o.kind === 'skipped') return 'skipped'; // matched the lake's copy
      // Workers know the lake as it was when they started; later objects are checked here.
      const stored =
        o.kind === 'conflict' ? o.storedSha256 : known.get(o.sopInstanceUID);
      if (stored === o.sha256) return 'skipped';
      if (stored !== undefined && o.kind === 'ingested' && reEncoded(o, stored))
        return 'skipped';
      if (stored !== undefined) {
        recordConflict(o, stored);
        return 'conflict';
      }
      return o.kind === 'ingested' ? 'ingested' : 'skipped';
    };
    const handle = (o: FileOutcome) => {
      report.filesSeen++;
      report.bytesRead += o.bytesRead;
      const verdict = verdictOf(o);
      if (verdict === 'skipped') report.skipped++;
      else if (o.kind === 'quarantined') {
        report.quarantined++;
        report.quarantine.push({
          source: o.source,
          code: o.code,
          message: o.message,
        });
        logger.warn({ code: o.code }, 'quarantined a file');
      } else if (verdict === 'conflict') {
        report.conflicts++;
        report.conflictSources.push(o.source);
      } else if (o.kind === 'ingested') {
        known.set(o.sopInstanceUID, o.sha256);
        tallyIngested(report, o, 1);
        pending.push(o);
        if (pending.length >= this.#batchSize) void commit();
      }
      stale?.judged(o);
      hooks.onOutcome?.(o, verdict);
      hooks.onProgress?.({
        filesDone: report.filesSeen,
        filesTotal: hooks.filesTotal,
        ingested: report.ingested,
        skipped: report.skipped,
        quarantined: report.quarantined,
        bytesRead: report.bytesRead,
        elapsedSeconds: elapsed(),
      });
    };
    // Outcomes are handled in input order, whatever order workers finish in,
    // so which of two files claiming one SOP Instance UID wins never varies.
    const window = Math.max(4, this.#pool.size * 4);
    const results = new Map<number, FileOutcome>();
    const inFlight = new Set<Promise<void>>();
    let submitted = 0;
    let handled = 0;
    const drain = () => {
      for (let o = results.get(handled); o; o = results.get(handled)) {
        results.delete(handled++);
        handle(o);
      }
    };
    // A source that fails (a read error, an upload cut short) ends the
    // run only once the files it gave are handled and committed: they were
    // read whole, and nothing of this run may commit after it has failed.
    let sourceFailure: { error: unknown } | undefined;
    try {
      for await (const input of stale?.watch(inputs) ?? inputs) {
        if (failure) break;
        const seq = submitted++;
        const job: Promise<void> = this.#pool.run(input).then(
          (o) => {
            results.set(seq, o);
            drain();
          },
          (err: Error) => {
            failure ??= err;
          },
        );
        inFlight.add(job);
        void job.finally(() => inFlight.delete(job));
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
    } catch (error) {
      sourceFailure = { error };
    }
    await Promise.all(inFlight);
    await commit();
    await Promise.all(records);
    if (failure) throw failure;
    if (sourceFailure) throw sourceFailure.error;
    if (stale) report.quarantineSettled = await stale.removeSettled();
    report.seconds = elapsed();
    report.filesPerSecond = report.filesSeen / Math.max(report.seconds, 1e-9);
    report.megabytesPerSecond =
      report.bytesRead / 1e6 / Math.max(report.seconds, 1e-9);
    return report;
  }

  /**
   * Tells the workers which patients were erased on request. Read at
   * every run (a small file), so no run works from an older list than
   * the lake's.
   */
  async #shareTombstones(): Promise<void> {
    const erased = [...(await readTombstones(this.#lake.root))].map(
      ([pseudonym, t]): [string, string] => [pseudonym, erasedMessage(t)],
    );
    const sent = JSON.stringify(erased);
    if (sent === this.#erasedSent) return;
    this.#pool.shareErased(erased);
    this.#erasedSent = sent;
  }

  /**
   * Takes out of a batch the instances other processes committed first
   * (`others`: what they committed since this session last looked, added
   * to what it learned before), handing each to `revise`. Returns the
   * batch itself when nothing was taken out.
   */
  #reconcile(
    batch: Ingested[],
    others: ReadonlyMap<string, string>,
    revise: (o: Ingested, stored: string) => void,
  ): Ingested[] {
    for (const [uid, sha256] of others) {
      this.#others.set(uid, sha256);
      // Later files of this session are judged against the lake's copy.
      this.#stored.set(uid, sha256);
    }
    // Alone on the lake so far: the common case costs nothing.
    if (!this.#others.size) return batch;
    const kept = batch.filter((o) => {
      const stored = this.#others.get(o.sopInstanceUID);
      if (stored === undefined) return true;
      revise(o, stored);
      return false;
    });
    return kept.length === batch.length ? batch : kept;
  }

  /**
   * Commits rows that did not come from files (model predictions) as one
   * batch through this session's write lock, after any run under way.
   * `rows` may be a function making them from the session's open lake
   * (a prediction job's keepPresent), called in turn like the commit.
   * Returns the batch id.
   */
  commitRows(
    rows: BatchRows | ((lake: Lake) => Promise<BatchRows>),
  ): Promise<string> {
    const next = this.#queue.then(async () => {
      const batchId = newBatchId();
      const batch = typeof rows === 'function' ? await rows(this.#lake) : rows;
      await this.#lake.commitBatch(batchId, batch);
      return batchId;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Merges each table's batches into one (Lake.compactAlone) after any
   * run under way, and before the next, when no other process holds the
   * lake; undefined when one does. A server's session merges its own
   * batches this way, since `lpacs compact` is refused while it runs.
   */
  compactAlone(): Promise<Compaction[] | undefined> {
    const next = this.#queue.then(() => this.#lake.compactAlone());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#pool.close();
    this.#lake.close();
  }
}
