import { Tag, findElement, parseDicom, readString } from '@lpacs/dicom';
import type { DataSet } from '@lpacs/dicom';

/** The SOP Instance Reference of a part as its sender wrote it. */
export interface SopUids {
  sopClassUID?: string;
  sopInstanceUID?: string;
}

// PS3.5 9.1: digits and dots, at most 64 characters. Anything else is
// left out rather than echoed in a UI element.
const UID = /^[0-9]+(\.[0-9]+)*$/;

function uid(set: DataSet, tag: number): string | undefined {
  const value = readString(set.buffer, findElement(set.elements, tag));
  return value && value.length <= 64 && UID.test(value) ? value : undefined;
}

/**
 * The SOP Class and Instance UIDs of a part that was not stored, as
 * received: nothing of it is in the lake, so only the sender's own UIDs
 * tell the sender which part failed (PS3.18 Table I.1-1). The file meta
 * (PS3.10 7.1) stands in when the data set lacks them. Empty when the
 * part cannot be parsed.
 *
 * TODO: parseDicom reads all or nothing, so a file cut short after its
 * UIDs (a truncated transfer) gets none, and its sender cannot tell
 * which of its parts the failed item is.
 */
export function sopUidsAsSent(bytes: Buffer): SopUids {
  let file;
  try {
    file = parseDicom(bytes);
  } catch {
    return {};
  }
  const uids: SopUids = {};
  const sopClassUID =
    uid(file.body, Tag.SOPClassUID) ??
    uid(file.meta, Tag.MediaStorageSOPClassUID);
  const sopInstanceUID =
    uid(file.body, Tag.SOPInstanceUID) ??
    uid(file.meta, Tag.MediaStorageSOPInstanceUID);
  if (sopClassUID) uids.sopClassUID = sopClassUID;
  if (sopInstanceUID) uids.sopInstanceUID = sopInstanceUID;
  return uids;
}
