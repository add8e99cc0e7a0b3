import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DicomError, parseDicom } from '@lpacs/dicom';
import { DeidError } from '@lpacs/deid';
import type { Deidentifier, SiteKeys } from '@lpacs/deid';
import type { Lake, Row } from '@lpacs/lake';
import { indexRow } from './indexRow';
import type { InputFile } from './sources/InputFile';

/** What became of one input file. */
export type FileOutcome =
  | {
      kind: 'ingested';
      source: string;
      sourceKey: string;
      sopInstanceUID: string;
      sha256: string;
      row: Row;
      bytesRead: number;
      bytesWritten: number;
      actions: Record<string, number>;
      warnings: string[];
    }
  | { kind: 'skipped'; source: string; sourceKey: string; bytesRead: number }
  | {
      kind: 'quarantined';
      source: string;
      code: string;
      message: string;
      bytesRead: number;
    };

/** Everything a worker needs to process files on its own. */
export interface FileContext {
  lake: Lake;
  keys: SiteKeys;
  deidentifier: Deidentifier;
  knownSourceKeys: ReadonlySet<string>;
  ingestedAt: string;
}

/** Error codes of failures that are the file's fault, not the lake's. */
function refusal(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof DicomError || err instanceof DeidError)
    return { code: err.code, message: err.message };
  if (err instanceof RangeError)
    return {
      code: 'MALFORMED',
      message: 'a length or offset points outside the file',
    };
  return undefined;
}

/**
 * Reads, de-identifies and stores one file, or quarantines it with its
 * reason. Lake failures (disk full, permissions) are thrown: they are not
 * the file's fault and must stop the run.
 */
export async function processFile(
  input: InputFile,
  ctx: FileContext,
): Promise<FileOutcome> {
  let bytes: Buffer;
  try {
    bytes = input.bytes ?? readFileSync(input.path!);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'READ_FAILED';
    return {
      kind: 'quarantined',
      source: input.source,
      code: 'UNREADABLE',
      message: `cannot read the file (${code})`,
      bytesRead: 0,
    };
  }
  const sourceKey = ctx.keys.sourceKey(bytes);
  if (ctx.knownSourceKeys.has(sourceKey)) {
    return {
      kind: 'skipped',
      source: input.source,
      sourceKey,
      bytesRead: bytes.length,
    };
  }
  let outcome;
  try {
    outcome = ctx.deidentifier.deidentify(parseDicom(bytes));
  } catch (err) {
    const reason = refusal(err);
    if (!reason) throw err;
    await ctx.lake.quarantine(bytes, {
      ...reason,
      source: input.source,
      at: new Date().toISOString(),
    });
    return {
      kind: 'quarantined',
      source: input.source,
      ...reason,
      bytesRead: bytes.length,
    };
  }
  const sha256 = createHash('sha256').update(outcome.bytes).digest('hex');
  const objectKey = ctx.lake.putObjectSync(outcome.bytes, sha256);
  const row = indexRow(outcome.bytes, {
    objectKey,
    sha256,
    sizeBytes: outcome.bytes.length,
    sourceKey,
    ageYears: outcome.ageYears,
    ingestedAt: ctx.ingestedAt,
  });
  return {
    kind: 'ingested',
    source: input.source,
    sourceKey,
    sopInstanceUID: outcome.sopInstanceUID,
    sha256,
    row,
    bytesRead: bytes.length,
    bytesWritten: outcome.bytes.length,
    actions: outcome.actions,
    warnings: outcome.warnings,
  };
}
