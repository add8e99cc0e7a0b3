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

/** What a reviewer should know about an ingested file (no values). */
export interface NoticeEntry {
  source: string;
  message: string;
}

/** What every run of one ingest session added up to, for monitoring. */
export interface IngestTotals {
  runs: number;
  /** Runs stopped by a lake failure (disk full, permissions). */
  failedRuns: number;
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantined: number;
  conflicts: number;
  bytesRead: number;
  /** Seconds spent in runs: files/s while ingesting is filesSeen over this. */
  busySeconds: number;
  /** When the last run ended (ISO 8601), if any did. */
  lastRunAt: string | undefined;
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
  /**
   * Ids of quarantine entries removed after the commit: this run ingested
   * (or found stored) the very file each had kept.
   */
  quarantineSettled: string[];
  conflictSources: string[];
  /**
   * Ingested files to look at, not failures: a secondary capture that may
   * show text, pixels blanked by a device's rule.
   */
  notices: NoticeEntry[];
  /**
   * Inputs, folders and links left unread, each once, with why: a lake
   * (the one written, or another) or anything inside one, a link into a
   * lake, a link to a folder read already.
   */
  notRead: NoticeEntry[];
  /**
   * Elements whose de-identification action failed and that were removed
   * instead, each with its file (tag and action named, never a value);
   * the file itself was ingested.
   */
  fallbackElements: NoticeEntry[];
  deidentification: {
    profile: string;
    edition: string;
    options: DeidOptions;
    /** Elements touched per action code, summed over the run. */
    actions: Record<string, number>;
    /** Elements whose action failed and that were removed instead. */
    fallbacks: number;
    /** Notices raised (listed in `notices`). */
    notices: number;
  };
}
