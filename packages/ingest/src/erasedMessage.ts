import type { Tombstone } from '@lpacs/lake';

/**
 * The refusal of a file of a patient erased on request (code ERASED):
 * the date only. The operator's reason is free text that may name the
 * patient, so it stays in the audit log and never reaches a sender, a
 * report or the quarantine. Short enough that `ERASED: ` and it fit a
 * STOW-RS ErrorComment (LO, 64 characters; PS3.5 6.2).
 */
export function erasedMessage(tombstone: Tombstone): string {
  return `patient erased on ${tombstone.at.slice(0, 10)} at the site's request`;
}
