import { Tag, findElement, parseDicomLeading, readString } from '@lpacs/dicom';
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
 * The SOP Class and Instance UIDs of a part as received: they name it to
 * its sender (PS3.18 Table I.1-1), whose own UIDs are the only ones it
 * knows, whatever became of the part. The file meta (PS3.10 7.1) stands
 * in when the data set lacks them. A part cut short (a truncated
 * transfer) is read up to the cut: its UIDs come long before its pixel
 * data. Empty when they cannot be read (not DICOM, cut before them) or
 * are not UIDs: nothing but the sender's own UIDs is ever echoed.
 */
export function sopUidsAsSent(bytes: Buffer): SopUids {
  let file;
  try {
    file = parseDicomLeading(bytes);
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

/**
 * The Study Instance UID of a part as received; null when the part cannot
 * be read as DICOM at all (ingest then says why), undefined when it has
 * none (or not a UID).
 */
export function studyUidAsSent(bytes: Buffer): string | null | undefined {
  let file;
  try {
    file = parseDicomLeading(bytes);
  } catch {
    return null;
  }
  return uid(file.body, Tag.StudyInstanceUID);
}
