import type { Tombstone } from '@lpacs/lake';

/**
 * The refusal of a file of a patient erased on request (code ERASED),
 * with the date and the reason the operator gave, never a value of the
 * file.
 */
export function erasedMessage(tombstone: Tombstone): string {
  return `this patient's data was erased on ${tombstone.at.slice(0, 10)} (erase reason: ${tombstone.reason}): not ingested`;
}
