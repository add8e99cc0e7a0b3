import { ingest } from '@lpacs/ingest';
import type { IngestReport } from '@lpacs/ingest';
import { IngestTally, auditIngest } from '../ingestAudit';
import { progressLine, reportText } from '../format';
import { createLogger } from '../logger';
import type { Options } from '../options';

/** `lpacs ingest PATH... [--lake DIR] [--json] [--workers N]` */
export async function ingestCommand(
  paths: string[],
  opts: Options,
): Promise<number> {
  if (!paths.length) {
    process.stderr.write(
      'lpacs ingest: give at least one file, folder or .zip\n',
    );
    return 2;
  }
  const tty = process.stderr.isTTY && !opts.json;
  let last = 0;
  // One `ingest` audit entry, written when the run ends, failed or not.
  const tally = new IngestTally();
  let report: IngestReport;
  try {
    report = await ingest(paths, {
      ...tally.hooks,
      lake: opts.lake,
      workers: opts.workers,
      batchSize: opts.batchSize,
      // Quarantines and commits are in the report; the log is for operators
      // who ask for it (LPACS_LOG_LEVEL=info or debug).
      logger: createLogger('ingest', process.env.LPACS_LOG_LEVEL ?? 'error'),
      onProgress: (p) => {
        const now = Date.now();
        if (!tty || now - last < 100) return;
        last = now;
        process.stderr.write(`\r${progressLine(p)}\x1b[K`);
      },
    });
  } catch (error) {
    if (tty) process.stderr.write('\r\x1b[K');
    await auditIngest(opts.lake, 'cli', tally, { error });
    throw error;
  }
  const audited = await auditIngest(opts.lake, 'cli', tally, undefined);
  if (tty) process.stderr.write('\r\x1b[K');
  if (report.filesSeen === 0) {
    // An input left out (a lake) is named in the report, not here.
    const read = paths.filter(
      (p) => !report.notRead.some((n) => n.source === p),
    );
    process.stderr.write(
      `lpacs ingest: no files found in ${read.join(', ')}\n`,
    );
  }
  process.stdout.write(
    opts.json
      ? JSON.stringify(report, null, 2) + '\n'
      : reportText(report) + '\n',
  );
  return audited ? 0 : 1;
}
