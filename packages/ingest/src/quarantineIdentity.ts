import { Tag, findElement, readString } from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import { PATIENT_PSEUDONYM, isKeyedUid } from '@lpacs/deid';
import type { Deidentifier } from '@lpacs/deid';

/** Who a quarantined original is in the lake: no PHI, only pseudonyms. */
export interface QuarantinedIdentity {
  /** The lake's PatientID: the pseudonym ingest gives, or sync kept. */
  patientID: string;
  /** The lake's StudyInstanceUID of its study. */
  studyInstanceUID?: string;
}

/**
 * The identity a refused file would have had in the lake, so an erasure
 * can find its quarantined original: keyed from the site secret the way
 * ingest keys it, or as is for what sync received (its sender
 * de-identified it, and sync keeps identities). Undefined when the file
 * names no patient ingest could key.
 */
export function quarantineIdentity(
  file: DicomFile,
  deid: Deidentifier,
  received: boolean,
): QuarantinedIdentity | undefined {
  let of: { patientID: string | undefined; studyInstanceUID?: string };
  if (received) {
    // Only values of a pseudonym's shape: a refused object may carry an
    // original MRN or UID, which its record must not keep.
    const { buffer, elements } = file.body;
    const id = readString(buffer, findElement(elements, Tag.PatientID))?.trim();
    const study = readString(
      buffer,
      findElement(elements, Tag.StudyInstanceUID),
    )?.trim();
    of = {
      patientID: id && PATIENT_PSEUDONYM.test(id) ? id : undefined,
      studyInstanceUID: study && isKeyedUid(study) ? study : undefined,
    };
  } else {
    try {
      of = deid.pseudonymsOf(file);
    } catch {
      return undefined; // not DICOM enough to name a patient
    }
  }
  if (!of.patientID) return undefined;
  return {
    patientID: of.patientID,
    ...(of.studyInstanceUID ? { studyInstanceUID: of.studyInstanceUID } : {}),
  };
}
