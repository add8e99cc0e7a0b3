import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { PROFILE_EDITION } from '@lpacs/dicom';
import { RESEARCH_DEFAULT, parseOptions } from '@lpacs/deid';
import type { DeidOptions } from '@lpacs/deid';
import { Catalog, Lake, newBatchId, silentLogger } from '@lpacs/lake';
import type { Logger, Row } from '@lpacs/lake';
import { countInputs } from './countInputs';
import type { IngestProgress, IngestReport } from './IngestReport';
import { levelRows } from './levelRows';
import type { FileOutcome } from './processFile';
import { expandInputs } from './sources/expandInputs';
import { WorkerPool } from './WorkerPool';

/** Options of one ingest run. */
export interface IngestOptions {
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
  onProgress?: (progress: IngestProgress) => void;
}

interface Known {
  shaBySop: Map<string, string>;
}

async function loadKnown(root: string): Promise<Known> {
  const catalog = await Catalog.open(root, { threads: 1 });
  try {
    const rows = await catalog.query(
      'SELECT "SOPInstanceUID", sha256 FROM instances',
    );
    return {
      shaBySop: new Map(
        rows.map((r) => [String(r.SOPInstanceUID), String(r.sha256)]),
      ),
    };
  } finally {
    catalog.close();
  }
}

/**
 * Ingests files, folders and .zip archives into a lake: each file is
 * de-identified in a worker thread and stored as an object; its index rows
 * are committed in atomic batches. Files already ingested are skipped;
 * unreadable ones are quarantined with their reason and the run goes on.
 */
export async function ingest(
  paths: readonly string[],
  options: IngestOptions,
): Promise<IngestReport> {
  const started = process.hrtime.bigint();
  const logger = options.logger ?? silentLogger;
  const requested = options.deid ?? RESEARCH_DEFAULT;
  const batchSize = options.batchSize ?? 1000;
  const root = resolve(options.lake);
  const lake = await Lake.open(root, logger);
  const settings = await lake.settings({ deidentification: requested });
  const deid = parseOptions(settings.deidentification);
  if (options.deid && JSON.stringify(options.deid) !== JSON.stringify(deid)) {
    throw new Error(
      `this lake was created with other de-identification options (${lake.layout.settings}); ingest into a new lake to use new ones`,
    );
  }
  const secret = await lake.siteSecret();
  const known = await loadKnown(root);
  const filesTotal = await countInputs(paths);
  const pool = new WorkerPool(
    options.workers ?? Math.max(1, availableParallelism()),
    {
      lakeRoot: root,
      secretHex: secret.toString('hex'),
      options: deid,
      stored: [...known.shaBySop],
      ingestedAt: new Date().toISOString(),
    },
  );
  const report: IngestReport = {
    lake: root,
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
    conflictSources: [],
    deidentification: {
      profile: 'PS3.15 E.1-1 Basic Application Confidentiality Profile',
      edition: PROFILE_EDITION,
      options: deid,
      actions: {},
      fallbacks: 0,
    },
  };
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let failure: Error | undefined;
  const records: Array<Promise<unknown>> = [];
  let pending: Row[] = [];
  let commits = Promise.resolve();
  const commit = () => {
    if (!pending.length) return commits;
    const rows = pending;
    pending = [];
    const batchId = newBatchId();
    commits = commits
      .then(async () => {
        if (failure) return;
        await lake.commitBatch(batchId, levelRows(rows));
        report.batches.push(batchId);
        logger.info({ batch: batchId, rows: rows.length }, 'committed batch');
      })
      .catch((err: Error) => {
        failure ??= err;
      });
    return commits;
  };
  const handle = (o: FileOutcome) => {
    report.filesSeen++;
    report.bytesRead += o.bytesRead;
    if (o.kind === 'skipped') report.skipped++;
    else if (o.kind === 'quarantined') {
      report.quarantined++;
      report.quarantine.push({
        source: o.source,
        code: o.code,
        message: o.message,
      });
      logger.warn({ code: o.code }, 'quarantined a file');
    } else {
      // The worker knew the lake as it was at the start; this run's own
      // objects are checked here.
      const stored =
        o.kind === 'conflict'
          ? o.storedSha256
          : known.shaBySop.get(o.sopInstanceUID);
      if (stored === o.sha256) report.skipped++;
      else if (stored !== undefined) {
        // Both versions stay traceable: the new one is stored as an object
        // and this record points at it (the lake keeps the first).
        report.conflicts++;
        report.conflictSources.push(o.source);
        records.push(
          lake.quarantine(undefined, {
            code: 'CONFLICT',
            message: `SOP Instance ${o.sopInstanceUID} is stored with other content (sha256 ${stored.slice(0, 12)}); this version is kept as ${o.objectKey}`,
            source: o.source,
            at: new Date().toISOString(),
          }),
        );
      } else if (o.kind === 'ingested') {
        known.shaBySop.set(o.sopInstanceUID, o.sha256);
        report.ingested++;
        report.bytesWritten += o.bytesWritten;
        pending.push(o.row);
        for (const [k, v] of Object.entries(o.actions))
          report.deidentification.actions[k] =
            (report.deidentification.actions[k] ?? 0) + v;
        report.deidentification.fallbacks += o.warnings.length;
        if (pending.length >= batchSize) void commit();
      }
    }
    options.onProgress?.({
      filesDone: report.filesSeen,
      filesTotal,
      ingested: report.ingested,
      skipped: report.skipped,
      quarantined: report.quarantined,
      bytesRead: report.bytesRead,
      elapsedSeconds: elapsed(),
    });
  };
  // Outcomes are handled in input order, whatever order workers finish in,
  // so which of two files claiming one SOP Instance UID wins never varies.
  const window = Math.max(4, pool.size * 4);
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
  try {
    for await (const input of expandInputs(paths)) {
      if (failure) break;
      const seq = submitted++;
      const job: Promise<void> = pool.run(input).then(
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
    await Promise.all(inFlight);
    await commit();
    await Promise.all(records);
  } finally {
    await pool.close();
    lake.close();
  }
  if (failure) throw failure;
  report.seconds = elapsed();
  report.filesPerSecond = report.filesSeen / Math.max(report.seconds, 1e-9);
  report.megabytesPerSecond =
    report.bytesRead / 1e6 / Math.max(report.seconds, 1e-9);
  return report;
}
