/** Why an object was refused by de-identification; stable, safe to show. */
export enum DeidErrorCode {
  BurnedInAnnotation = 'BURNED_IN_ANNOTATION',
  /** The pixels may show the patient recognizably (RecognizableVisualFeatures YES, a photograph). */
  RecognizableVisualFeatures = 'RECOGNIZABLE_VISUAL_FEATURES',
  MissingUID = 'MISSING_UID',
  /**
   * TransferSyntaxUID, MediaStorageSOPClassUID or SOPClassUID is not a
   * UID (PS3.5 9.1): written as they come, they could carry anything.
   */
  InvalidUID = 'INVALID_UID',
  /** A synced object that says it was de-identified and was not (verifyDeidentified). */
  NotDeidentified = 'NOT_DEIDENTIFIED',
}

/** An object that must not enter the lake; the message never holds values. */
export class DeidError extends Error {
  override readonly name = 'DeidError';
  constructor(
    readonly code: DeidErrorCode,
    message: string,
  ) {
    super(message);
  }
}
