import { stat } from 'node:fs/promises';
import { countInputs } from './countInputs';
import type { IngestProgress, IngestReport, NoticeEntry } from './IngestReport';
import { IngestSession } from './IngestSession';
import type { RunHooks, SessionOptions } from './IngestSession';
import {
  expandInputs,
  inputInLake,
  lakeExclusion,
} from './sources/expandInputs';

/** Options of one ingest run. */
export interface IngestOptions extends SessionOptions {
  onProgress?: (progress: IngestProgress) => void;
  /** Each file's verdict, and each a commit revised (see RunHooks). */
  onOutcome?: RunHooks['onOutcome'];
  onRevised?: RunHooks['onRevised'];
  /** Each batch as it commits (see RunHooks). */
  onCommitted?: RunHooks['onCommitted'];
  /**
   * The lake is open and the run begins; a run that fails before (an
   * input missing, the lake busy) changed nothing.
   */
  onOpened?: () => void;
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
  for (const path of paths) {
    try {
      await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'ENOENT'
          ? `no such file or folder: ${path}`
          : `cannot read ${path} (${code})`,
      );
    }
  }
  // Before the lake is opened (or made): a run that can read no input
  // fails as a missing one does, rather than report an empty ingest.
  const written = await lakeExclusion(options.lake);
  const unread: string[] = [];
  for (const path of paths) {
    const why = await inputInLake(path, written);
    if (why !== undefined) unread.push(`${path} ${why.replace(/^it /, '')}`);
  }
  if (paths.length && unread.length === paths.length)
    throw new Error(
      `nothing read: ${unread.join('; ')} (an ingest never reads a lake${unread.some((u) => u.includes('lpacs backup')) ? ' or a backup' : ''})`,
    );
  // Counting (for progress) walks the inputs while the lake opens.
  const counting = countInputs(paths, written);
  counting.catch(() => undefined); // awaited below, once the lake is open
  const session = await IngestSession.open(options);
  options.onOpened?.();
  try {
    // The lake exists now, so its real path is known: the walk leaves it
    // out (a lake inside an input folder, as `ingest .` beside ./lake).
    const exclude = await lakeExclusion(session.lakeRoot);
    const filesTotal = await counting;
    const notRead: NoticeEntry[] = [];
    const report = await session.run(
      expandInputs(paths, {
        exclude,
        onSkip: (source, message) => notRead.push({ source, message }),
      }),
      {
        filesTotal,
        onProgress: options.onProgress,
        onOutcome: options.onOutcome,
        onRevised: options.onRevised,
        onCommitted: options.onCommitted,
      },
    );
    report.notRead = notRead;
    // The run's own clock starts after the lake opened; users wait for both.
    report.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    report.filesPerSecond = report.filesSeen / Math.max(report.seconds, 1e-9);
    report.megabytesPerSecond =
      report.bytesRead / 1e6 / Math.max(report.seconds, 1e-9);
    return report;
  } finally {
    await session.close();
  }
}
