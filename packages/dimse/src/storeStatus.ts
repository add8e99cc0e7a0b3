import type { FileOutcome, Verdict } from '@lpacs/ingest';

/** C-STORE response statuses we send (PS3.4 B.2.3, Table B.2-1). */
export const StoreStatus = {
  /**
   * Warning, coercion of data elements: the instance is on disk (in the
   * spool until its batch commits) and judged stored, as the
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
   * Error, cannot understand, sub-code ours (PS3.4 Table B.2-1 leaves the
   * `xxx` of Cxxx to the SCP), with (0008,0018) as the Offending Element:
   * the lake holds this SOP Instance UID with other content. It keeps its
   * instance, and this version beside it under a CONFLICT record for an
   * operator, so the instance is not stored as that SOP Instance and the
   * answer is a failure (a Warning says it was stored, PS3.4 B.2.2).
   * Among the statuses PS3.7 9.1.1.1.9 allows a C-STORE, "cannot
   * understand certain Data Elements" is the one that fits: its value of
   * (0008,0018) is refused. 0111H "duplicate SOP instance", what STOW-RS
   * answers, is not a C-STORE status (PS3.7 lists it for N-CREATE; dcmtk
   * prints it as an unknown status).
   */
  Conflict: 0xc001,
} as const;

/** SOP Instance UID (0008,0018). */
const SOP_INSTANCE_UID = 0x00080018;

/** What became of one received instance, for the association's counts. */
export type StoreOutcome = Verdict | 'failed';

/** A C-STORE response status with its Error Comment (0000,0902). */
export interface StoreAnswer {
  status: number;
  /** Codes only, never values (no PHI); at most 64 characters (LO). */
  comment?: string;
  /** Offending Element (0000,0901): the tag whose value is refused. */
  offending?: number;
  outcome: StoreOutcome;
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
      outcome: 'quarantined',
    };
  }
  if (verdict === 'conflict') {
    return {
      status: StoreStatus.Conflict,
      comment:
        'CONFLICT: SOP Instance UID stored with other content; both kept',
      offending: SOP_INSTANCE_UID,
      outcome: 'conflict',
    };
  }
  // Ingested, or already stored with the same content (a resend).
  return { status: StoreStatus.Coerced, outcome: verdict };
}
