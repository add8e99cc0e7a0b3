import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  DicomError,
  DicomErrorCode,
  Tag,
  findElement,
  parseDicom,
  readString,
  topString,
} from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import { DeidError } from '@lpacs/deid';
import type { Deidentifier } from '@lpacs/deid';
import type { Lake, PackedAttributes, Row } from '@lpacs/lake';
import { acceptDeidentified } from './acceptDeidentified';
import { instanceAttributes } from './attributeRows';
import { quarantineIdentity } from './quarantineIdentity';
import { indexRow } from './indexRow';
import { sameInstance } from './sameInstance';
import type { InputFile } from './sources/InputFile';

interface Stored {
  source: string;
  sopClassUID: string;
  sopInstanceUID: string;
  sha256: string;
  objectKey: string;
  bytesRead: number;
  /**
   * Taken as received (`lpacs sync`: another lpacs de-identified it). Its
   * bytes are the sender's version, so other bytes under its SOP
   * Instance UID are another version, never the same instance re-encoded.
   */
  asReceived?: true;
}

/** What became of one input file. */
export type FileOutcome =
  | (Stored & {
      kind: 'ingested';
      row: Row;
      /** Its `attributes` rows, packed. */
      attributes: PackedAttributes;
      /** Encrypted link of original identifiers to pseudonyms, if new. */
      linkage: string | undefined;
      bytesWritten: number;
      actions: Record<string, number>;
      warnings: string[];
      notices: string[];
    })
  /** Already in the lake with the same de-identified content. */
  | (Stored & { kind: 'skipped' })
  /** In the lake with other content; this version is stored beside it. */
  | (Stored & { kind: 'conflict'; storedSha256: string })
  | {
      kind: 'quarantined';
      source: string;
      code: string;
      message: string;
      bytesRead: number;
      /** The id of the quarantine entry written for it (see quarantineId). */
      entry: string;
    };

/** Everything a worker needs to process files on its own. */
export interface FileContext {
  lake: Lake;
  deidentifier: Deidentifier;
  /** SHA-256 of every stored object by its (de-identified) SOP Instance UID. */
  storedShaBySop: ReadonlyMap<string, string>;
  /**
   * Why each patient erased on request is refused, by pseudonym (see
   * erasedMessage): their files must not enter again.
   */
  erased?: ReadonlyMap<string, string>;
}

/**
 * Buffers reused from file to file in one worker: a fresh 400 KB Buffer per
 * read and per output costs an allocation and its page faults each time.
 * Everything that must outlive a call is copied out of them.
 */
const scratch = { input: Buffer.alloc(0), output: Buffer.alloc(1 << 20) };

function readInto(path: string, into: typeof scratch): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (into.input.length < size)
      into.input = Buffer.allocUnsafe(Math.max(size, 1 << 20));
    if (into.output.length < size + (1 << 20))
      into.output = Buffer.allocUnsafe(size + (1 << 20));
    let at = 0;
    while (at < size) {
      const n = readSync(fd, into.input, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return into.input.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/** True for a DICOMDIR (PS3.10 7.2), which indexes files rather than being one. */
function isMediaDirectory(file: DicomFile): boolean {
  const el = findElement(file.meta.elements, Tag.MediaStorageSOPClassUID);
  return readString(file.meta.buffer, el) === MEDIA_STORAGE_DIRECTORY;
}

/**
 * Quarantines an input that has no bytes to keep (a damaged archive, an
 * unreadable or oversized file, a file that is not DICOM at all): only
 * its reason is recorded, so `lpacs status` lists it with the others.
 */
async function record(
  ctx: FileContext,
  source: string,
  reason: { code: string; message: string },
  bytesRead = 0,
): Promise<FileOutcome> {
  const entry = await ctx.lake.quarantine(undefined, {
    ...reason,
    source,
    at: new Date().toISOString(),
  });
  return { kind: 'quarantined', source, ...reason, bytesRead, entry };
}

/**
 * The refusal message when the file is of a patient erased on request:
 * its PatientID as is (a lake pseudonym: this lake's object sent back,
 * a peer's copy of it) or the pseudonym ingest gives its identity (an
 * original, or a de-identified object whose PatientID was put back to
 * the site's) is tombstoned. Both, whatever the path: the check must
 * hold before anything else can refuse the file and keep it.
 */
function erasedPatient(ctx: FileContext, file: DicomFile): string | undefined {
  const asIs = topString(file.body, Tag.PatientID);
  const byAsIs = asIs === undefined ? undefined : ctx.erased?.get(asIs);
  if (byAsIs !== undefined) return byAsIs;
  let keyed: string | undefined;
  try {
    keyed = ctx.deidentifier.pseudonymsOf(file).patientID;
  } catch {
    // an identity ingest cannot key is refused later, for what it lacks
  }
  return keyed === undefined ? undefined : ctx.erased?.get(keyed);
}

/**
 * This lake's own object come back (a download or an export ingested
 * again): its SOP Instance UID is one the lake stores and its bytes are
 * exactly the stored object's. De-identifying it again would store it a
 * second time, under new UIDs and a pseudonym of its pseudonym. Only
 * byte-identical copies are recognised, so nothing that was not this
 * lake's output skips de-identification. Originals never get here: their
 * UIDs are not the lake's (unless the lake retains UIDs, when the bytes
 * still differ and the hash is the only cost).
 */
function ownObject(
  ctx: FileContext,
  file: DicomFile,
  bytes: Buffer,
): Omit<Extract<FileOutcome, { kind: 'skipped' }>, 'source'> | undefined {
  if (ctx.storedShaBySop.size === 0) return undefined;
  const sopInstanceUID = topString(file.body, Tag.SOPInstanceUID)?.trim();
  if (sopInstanceUID === undefined) return undefined;
  const stored = ctx.storedShaBySop.get(sopInstanceUID);
  if (stored === undefined) return undefined;
  if (createHash('sha256').update(bytes).digest('hex') !== stored)
    return undefined;
  return {
    kind: 'skipped',
    sopClassUID: topString(file.body, Tag.SOPClassUID)?.trim() ?? '',
    sopInstanceUID,
    sha256: stored,
    objectKey: ctx.lake.layout.objectKey(stored),
    bytesRead: bytes.length,
  };
}

const DEIDENTIFIED_AGAIN =
  'already de-identified by lpacs (another lake, or a changed copy of this ' +
  "lake's object): de-identified again, so its patient, study and instance " +
  'have new pseudonyms and UIDs here; `lpacs sync` moves objects between ' +
  'lakes keeping them';

/** True when an lpacs de-identifier wrote the object's method (0012,0063). */
function deidentifiedByLpacs(file: DicomFile): boolean {
  const method = topString(file.body, Tag.DeidentificationMethod);
  return method?.startsWith('lpacs ') ?? false;
}

/** Error codes of failures that are the file's fault, not the lake's. */
function refusal(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof DicomError || err instanceof DeidError) {
    return { code: err.code, message: err.message };
  }
  if (err instanceof RangeError) {
    return {
      code: 'MALFORMED',
      message: 'a length or offset points outside the file',
    };
  }
  return undefined;
}

/**
 * Reads, de-identifies and stores one file, or quarantines it with its
 * reason. Re-ingest is idempotent because de-identification is
 * deterministic: the same file gives the same SOP Instance UID and the same
 * bytes, which are then skipped without writing. Lake failures (disk full,
 * permissions) are thrown: they are not the file's fault and stop the run.
 */
export async function processFile(
  input: InputFile,
  ctx: FileContext,
): Promise<FileOutcome> {
  if (input.error) return record(ctx, input.source, input.error);
  let bytes: Buffer;
  try {
    bytes = input.bytes ?? readInto(input.path!, scratch);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'READ_FAILED';
    const tooLarge = code === 'ERR_OUT_OF_RANGE' || err instanceof RangeError;
    return record(
      ctx,
      input.source,
      tooLarge
        ? {
            code: 'TOO_LARGE',
            message:
              'the file is larger than the 2 GiB lpacs reads into memory',
          }
        : { code: 'UNREADABLE', message: `cannot read the file (${code})` },
    );
  }
  let outcome;
  let again = false;
  let parsed: DicomFile | undefined;
  try {
    parsed = parseDicom(bytes);
    if (isMediaDirectory(parsed)) {
      throw new DicomError(
        DicomErrorCode.MediaDirectory,
        'a DICOMDIR (media directory), not an instance: ingest the folder it indexes',
      );
    }
    // Before anything else can refuse it: a refusal would keep the
    // original, which is what the patient asked to have removed.
    const erased = ctx.erased?.size ? erasedPatient(ctx, parsed) : undefined;
    if (erased !== undefined)
      return await record(ctx, input.source, {
        code: 'ERASED',
        message: erased,
      });
    const own = input.deidentified ? undefined : ownObject(ctx, parsed, bytes);
    if (own) return { ...own, source: input.source };
    again = !input.deidentified && deidentifiedByLpacs(parsed);
    if (!input.deidentified && ctx.deidentifier.mustPrepare(parsed)) {
      // Decoding pixels to blank them awaits: this file's bytes must
      // outlive the scratch buffer, which the next file reuses meanwhile.
      bytes = Buffer.from(bytes);
      parsed = await ctx.deidentifier.prepare(parseDicom(bytes));
    }
    outcome = input.deidentified
      ? acceptDeidentified(
          bytes,
          parsed,
          input.deidentified,
          ctx.deidentifier.options,
        )
      : ctx.deidentifier.deidentify(parsed, scratch.output);
  } catch (err) {
    const reason = refusal(err);
    if (!reason) throw err;
    // Not DICOM at all (a key, a token, a log, a CSV put beside the
    // images): its reason is recorded, never a copy. There is nothing to
    // retry, and a copy would keep, and back up, whatever it holds.
    if (reason.code === DicomErrorCode.NotDicom)
      return await record(ctx, input.source, reason, bytes.length);
    const identity =
      parsed &&
      quarantineIdentity(parsed, ctx.deidentifier, !!input.deidentified);
    // A peer's object this lake refuses is not kept: whatever it holds
    // that made it fail stays with the sender, who still has it; only the
    // reason (attributes named, never values) and its pseudonyms are.
    // A copy: the scratch buffer is reused by the next file while this awaits.
    const entry = await ctx.lake.quarantine(
      input.deidentified ? undefined : Buffer.from(bytes),
      {
        ...reason,
        source: input.source,
        at: new Date().toISOString(),
        ...(identity && { patient: identity.patientID }),
        ...(identity?.studyInstanceUID && { study: identity.studyInstanceUID }),
      },
    );
    return {
      kind: 'quarantined',
      source: input.source,
      ...reason,
      bytesRead: bytes.length,
      entry,
    };
  }
  const sha256 = createHash('sha256').update(outcome.bytes).digest('hex');
  const sopInstanceUID = outcome.sopInstanceUID;
  const storedSha256 = ctx.storedShaBySop.get(sopInstanceUID);
  const base = {
    source: input.source,
    sopClassUID: outcome.sopClassUID,
    sopInstanceUID,
    sha256,
    bytesRead: bytes.length,
    ...(input.deidentified ? { asReceived: true as const } : {}),
  };
  if (
    storedSha256 !== undefined &&
    (storedSha256 === sha256 ||
      (!input.deidentified &&
        sameInstance(ctx.lake, storedSha256, outcome.bytes)))
  ) {
    // The lake's copy stands: report it, not the re-encoded one.
    return {
      kind: 'skipped',
      ...base,
      sha256: storedSha256,
      objectKey: ctx.lake.layout.objectKey(storedSha256),
    };
  }
  const objectKey = ctx.lake.putObjectSync(outcome.bytes, sha256);
  if (storedSha256 !== undefined) {
    return { kind: 'conflict', ...base, objectKey, storedSha256 };
  }
  // The stored bytes are read back once, for both tables.
  const stored = parseDicom(outcome.bytes);
  const row: Record<string, Row[string]> = indexRow(stored, {
    objectKey,
    sha256,
    sizeBytes: outcome.bytes.length,
    ageYears: outcome.ageYears,
  });
  // Assigned, not spread: copying a row of 30 keys costs 5 us a file.
  row.deid_actions = JSON.stringify(outcome.actions);
  return {
    kind: 'ingested',
    ...base,
    objectKey,
    row,
    attributes: instanceAttributes(stored),
    bytesWritten: outcome.bytes.length,
    actions: outcome.actions,
    linkage: outcome.linkage,
    warnings: outcome.warnings,
    notices: again
      ? [...(outcome.notices ?? []), DEIDENTIFIED_AGAIN]
      : (outcome.notices ?? []),
  };
}
