/** Why the DIMSE service could not start; stable strings, safe to show. */
export enum DimseErrorCode {
  /** An AE title is empty, longer than 16 characters or not printable. */
  InvalidAeTitle = 'INVALID_AE_TITLE',
  /** The port is not an integer from 0 to 65535. */
  InvalidPort = 'INVALID_PORT',
  /** The host and port could not be bound (in use, not permitted). */
  ListenFailed = 'LISTEN_FAILED',
  /**
   * Instances left in the spool by an SCP that stopped could not be
   * committed at start (the lake failed, or a spooled file cannot be
   * read): they stay in the spool, and the SCP does not start.
   */
  SpoolNotIngested = 'SPOOL_NOT_INGESTED',
}

/** A misconfigured or failed DIMSE service; the message names the value. */
export class DimseError extends Error {
  override readonly name = 'DimseError';
  constructor(
    readonly code: DimseErrorCode,
    message: string,
  ) {
    super(message);
  }
}
