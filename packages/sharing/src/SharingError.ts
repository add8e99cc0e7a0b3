/** Codes of sharing errors; the API passes them on as `extensions.code`. */
export enum SharingErrorCode {
  /**
   * Objects a saved cohort's frozen list names are no longer in the lake,
   * or no longer the size it recorded, so its release cannot be built.
   */
  ObjectsMissing = 'OBJECTS_MISSING',
}

/**
 * A sharing operation that cannot be done as the lake stands. The message
 * names ids and counts only; `counts` carries them for the audit log.
 */
export class SharingError extends Error {
  override readonly name = 'SharingError';
  constructor(
    readonly code: SharingErrorCode,
    message: string,
    readonly counts: Record<string, number> = {},
  ) {
    super(message);
  }
}
