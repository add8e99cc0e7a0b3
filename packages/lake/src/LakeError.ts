/** Failures of the lake itself (not of an input file). */
export enum LakeErrorCode {
  NotALake = 'NOT_A_LAKE',
  Unwritable = 'LAKE_UNWRITABLE',
  Corrupt = 'LAKE_CORRUPT',
  Busy = 'LAKE_BUSY',
  /** An encrypted lake opened without its key-encryption key. */
  KekRequired = 'KEK_REQUIRED',
  /** A key-encryption key that does not open the lake's data keys. */
  KekWrong = 'KEK_WRONG',
  /** A key-encryption key given that is no key (not 32 bytes), or a key file that cannot be read. */
  KekInvalid = 'KEK_INVALID',
  /** An id that names nothing the lake holds (a quarantine entry). */
  NotFound = 'NOT_FOUND',
  /** An erasure was interrupted; it must finish before data is added. */
  ErasurePending = 'ERASURE_PENDING',
  /** Quarantine entries exist whose reason this process cannot read. */
  QuarantineUnreadable = 'QUARANTINE_UNREADABLE',
}

export class LakeError extends Error {
  override readonly name = 'LakeError';
  constructor(
    readonly code: LakeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
