import type { FileOutcome, Verdict } from '@lpacs/ingest';

/** C-STORE response statuses we send (PS3.4 B.2.3, Table B.2-1). */
export const StoreStatus = {
  /**
   * Warning, coercion of data elements: the instance is committed, as the
   * de-identified version the lake keeps. Chosen over 0x0000 because it is
   * the truth about what was stored, and matches what STOW-RS answers for
   * the same ingest.
   */
  Coerced: 0xb000,
  /**
   * Refused, out of resources: the lake itself failed (disk, permissions);
   * the sender may retry later, as nothing about the instance is wrong.
   */
  OutOfResources: 0xa700,
  /**
   * Error, cannot understand: the instance was quarantined (not DICOM,
   * malformed, burned-in annotation...); sending it again will not help.
   */
  CannotUnderstand: 0xc000,
  /**
   * Error, cannot understand (sub-code ours, PS3.4 leaves `xxx` to the
   * SCP): the SOP Instance UID is stored with other content. 0x0111
   * "duplicate SOP instance" is an N-CREATE status (PS3.7 C.4.1), not a
   * C-STORE one; the lake keeps the first version and records this one.
   */
  Conflict: 0xc001,
} as const;

/** A C-STORE response status with its Error Comment (0000,0902). */
export interface StoreAnswer {
  status: number;
  /** Codes only, never values (no PHI); at most 64 characters (LO). */
  comment?: string;
}

/** The answer for the outcome of ingesting one received instance. */
export function storeStatus(
  outcome: FileOutcome,
  verdict: Verdict,
): StoreAnswer {
  if (outcome.kind === 'quarantined') {
    return {
      status: StoreStatus.CannotUnderstand,
      comment: `quarantined: ${outcome.code}`.slice(0, 64),
    };
  }
  if (verdict === 'conflict') {
    return {
      status: StoreStatus.Conflict,
      comment: 'CONFLICT: SOP Instance UID stored with other content',
    };
  }
  // Ingested, or already stored with the same content (a resend).
  return { status: StoreStatus.Coerced };
}
