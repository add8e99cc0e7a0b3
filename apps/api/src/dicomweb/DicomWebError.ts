/**
 * A DICOMweb request that cannot be answered, with its HTTP status and a
 * message that names the bad parameter or UID (never a stored value).
 */
export class DicomWebError extends Error {
  override readonly name = 'DicomWebError';
  constructor(
    readonly status: 400 | 404 | 405 | 406 | 500,
    message: string,
  ) {
    super(message);
  }
}

/** A 400 that names the query parameter at fault. */
export function badParameter(name: string, why: string): DicomWebError {
  return new DicomWebError(400, `bad query parameter "${name}": ${why}`);
}
