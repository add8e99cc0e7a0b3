import { resolve } from 'node:path';
import { Lake, LakeError, LakeErrorCode, quarantineId } from '@lpacs/lake';
import { IngestSession } from './IngestSession';
import type { RunHooks, SessionOptions, Verdict } from './IngestSession';
import type { FileOutcome } from './processFile';
import type { InputFile } from './sources/InputFile';

/** What became of one quarantine entry in a retry. */
export interface RetriedEntry {
  id: string;
  source: string;
  /**
   * `ingested` and `skipped` (already in the lake) remove the entry;
   * `conflict` replaces it with a CONFLICT record naming the version
   * kept; `quarantined` (refused again, with `code` and `message`) keeps
   * it with the new reason (or, refused without keeping the file, as an
   * erased patient's is, replaces it with a record of that reason alone);
   * `not-retryable` entries kept no file to send again (a CONFLICT
   * entry: its version is kept as an object, `code` says CONFLICT and
   * `message` what to do).
   */
  verdict: Verdict | 'not-retryable';
  code?: string;
  message?: string;
}

/** The report of `lpacs quarantine retry` (also its `--json` output). */
export interface RetryReport {
  lake: string;
  ingested: number;
  skipped: number;
  /** Refused again: kept, with the new reason. */
  quarantined: number;
  /**
   * Stored with other content under the same SOP Instance UID: the
   * version is kept, and its entry is now a CONFLICT record.
   */
  conflicts: number;
  notRetryable: number;
  /**
   * Ids of the entries removed, once the batches holding them committed:
   * the ingested, the skipped, and those a new record replaced.
   */
  removed: string[];
  batches: string[];
  entries: RetriedEntry[];
}

/**
 * What is true of a CONFLICT entry, and what to do with it: its version is
 * kept as an object beside the lake's instance of the same SOP Instance
 * UID, so there is nothing to send again.
 */
function conflictText(entry: { id: string; message: string }): string {
  const kept = / kept as (objects\/\S+\.dcm)/.exec(entry.message)?.[1];
  return (
    `a conflict is not retried: this version is kept${kept ? ` as ${kept}` : ''}, ` +
    "beside the lake's instance of the same SOP Instance UID; compare the two, " +
    `then keep both, or drop this record (lpacs quarantine drop ${entry.id.slice(0, 12)} --reason TEXT; ` +
    'lpacs compact then deletes the version)'
  );
}

/** Why a stored original cannot be sent again, or undefined when it can. */
function unusable(
  entry: { id: string; code: string; message: string },
  bytes: Buffer | undefined,
): string | undefined {
  const id = entry.id;
  // An erased patient's file is refused without keeping it, on purpose.
  if (!bytes && entry.code === 'ERASED')
    return `no file was kept: ${entry.message}`;
  // A conflict is not a refusal: its version is already in the lake.
  if (entry.code === 'CONFLICT') return conflictText(entry);
  if (!bytes && entry.code === 'NOT_DICOM')
    return `not DICOM: only its reason was recorded, there is nothing to send again (lpacs quarantine drop ${id.slice(0, 12)} --reason TEXT removes the record)`;
  if (!bytes) return 'no file was kept (the source could not be read)';
  // The id is the original's hash: anything else was changed since.
  if (quarantineId(bytes) !== id)
    return 'its stored file is not the one it was quarantined as';
  return undefined;
}

/**
 * Sends quarantined originals (all, or the entries `ids` names) through an
 * ingest session again, as `lpacs ingest` would send their source: with
 * the lake's current options, a file refused for a cause since fixed is
 * ingested. The session removes each entry whose file it ingested or
 * found stored, after its batch committed (see StaleQuarantine); one
 * refused again keeps its entry, rewritten with the new reason; a
 * conflict's entry gives way to its CONFLICT record: each retried file
 * is left with one entry at most, giving its current reason.
 * @throws LakeError NOT_A_LAKE, KEK_REQUIRED; NOT_FOUND for an unknown id.
 */
export async function retryQuarantined(
  ids: readonly string[] | undefined,
  options: SessionOptions,
  hooks: Pick<RunHooks, 'onOutcome' | 'onRevised' | 'onCommitted'> & {
    /** The session is open and the run begins (as ingest's onOpened). */
    onOpened?: () => void;
  } = {},
): Promise<RetryReport> {
  const root = resolve(options.lake);
  const lake = await Lake.open(root, options.logger, 'read');
  try {
    const all = await lake.quarantined();
    const byId = new Map(all.map((e) => [e.id, e]));
    const wanted = ids && [...new Set(ids)];
    const unknown = wanted?.find((id) => !byId.has(id));
    if (unknown !== undefined)
      throw new LakeError(
        LakeErrorCode.NotFound,
        `no quarantine entry ${unknown.slice(0, 40)} (lpacs quarantine list shows them)`,
      );
    const chosen = wanted ? wanted.map((id) => byId.get(id)!) : all;
    // Each verdict is set below; an entry that gets none stays quarantined.
    const entries: RetriedEntry[] = chosen.map((e) => ({
      id: e.id,
      source: e.source,
      verdict: 'quarantined',
    }));
    const report: RetryReport = {
      lake: root,
      ingested: 0,
      skipped: 0,
      quarantined: 0,
      conflicts: 0,
      notRetryable: 0,
      removed: [],
      batches: [],
      entries,
    };
    if (!entries.length) return report;
    const sent: RetriedEntry[] = [];
    async function* originals(): AsyncGenerator<InputFile> {
      for (const entry of entries) {
        let bytes: Buffer | undefined;
        let why: string | undefined;
        try {
          bytes = await lake.quarantinedOriginal(entry.id);
          why = unusable(byId.get(entry.id)!, bytes);
        } catch (err) {
          why = (err as Error).message;
        }
        if (why || !bytes) {
          entry.verdict = 'not-retryable';
          const code = byId.get(entry.id)?.code;
          if (code === 'CONFLICT') entry.code = code;
          entry.message = why;
          continue;
        }
        sent.push(entry);
        yield { source: entry.source, bytes };
      }
    }
    const byOutcome = new WeakMap<FileOutcome, RetriedEntry>();
    const judge = (o: FileOutcome, verdict: Verdict, entry?: RetriedEntry) => {
      if (!entry) return;
      byOutcome.set(o, entry);
      entry.verdict = verdict;
      if (o.kind === 'quarantined') {
        entry.code = o.code;
        entry.message = o.message;
      }
    };
    let judged = 0;
    const session = await IngestSession.open({ ...options, lake: root });
    hooks.onOpened?.();
    let run;
    try {
      run = await session.run(originals(), {
        // Outcomes come in input order.
        onOutcome: (o, verdict) => {
          judge(o, verdict, sent[judged++]);
          hooks.onOutcome?.(o, verdict);
        },
        onRevised: (o, verdict) => {
          judge(o, verdict, byOutcome.get(o));
          hooks.onRevised?.(o, verdict);
        },
        onCommitted: hooks.onCommitted,
      });
    } finally {
      await session.close();
    }
    const count = (v: RetriedEntry['verdict']) =>
      entries.filter((e) => e.verdict === v).length;
    return {
      ...report,
      ingested: count('ingested'),
      skipped: count('skipped'),
      quarantined: count('quarantined'),
      conflicts: count('conflict'),
      notRetryable: count('not-retryable'),
      removed: run.quarantineSettled,
      batches: run.batches,
    };
  } finally {
    lake.close();
  }
}
