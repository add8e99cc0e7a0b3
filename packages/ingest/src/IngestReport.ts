import type { DeidOptions } from '@lpacs/deid';

/** A refused file in a report: where it came from and why (no values). */
export interface QuarantineEntry {
  source: string;
  code: string;
  message: string;
}

/** Progress of a running ingest, reported after every file. */
export interface IngestProgress {
  filesDone: number;
  /** Known once inputs are counted; archives count as they are read. */
  filesTotal: number | undefined;
  ingested: number;
  skipped: number;
  quarantined: number;
  bytesRead: number;
  elapsedSeconds: number;
}

/** The final report of `lpacs ingest` (also its `--json` output). */
export interface IngestReport {
  lake: string;
  batches: string[];
  filesSeen: number;
  ingested: number;
  /** Already in the lake (same received bytes), or sent twice in this run. */
  skipped: number;
  quarantined: number;
  /** Same SOP Instance UID as a stored object but other content. */
  conflicts: number;
  bytesRead: number;
  bytesWritten: number;
  seconds: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
  quarantine: QuarantineEntry[];
  conflictSources: string[];
  deidentification: {
    profile: string;
    edition: string;
    options: DeidOptions;
    /** Elements touched per action code, summed over the run. */
    actions: Record<string, number>;
    /** Elements whose action failed and that were removed instead. */
    fallbacks: number;
  };
}
