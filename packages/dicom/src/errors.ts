/** Why a file could not be read; stable strings, safe to store and show. */
export enum DicomErrorCode {
  NotDicom = 'NOT_DICOM',
  Truncated = 'TRUNCATED',
  Malformed = 'MALFORMED',
  UnsupportedTransferSyntax = 'UNSUPPORTED_TRANSFER_SYNTAX',
  MissingAttribute = 'MISSING_ATTRIBUTE',
  MediaDirectory = 'DICOMDIR',
}

/**
 * A file that cannot be read as DICOM. Messages name offsets and tags,
 * never values, so they are safe to log (no PHI).
 */
export class DicomError extends Error {
  override readonly name = 'DicomError';
  constructor(
    readonly code: DicomErrorCode,
    message: string,
  ) {
    super(message);
  }
}
