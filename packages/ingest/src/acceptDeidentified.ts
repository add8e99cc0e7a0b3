import {
  DicomError,
  DicomErrorCode,
  Tag,
  findElement,
  readString,
} from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import {
  DeidError,
  DeidErrorCode,
  admission,
  verifyDeidentified,
} from '@lpacs/deid';
import type { DeidOptions, DeidOutcome } from '@lpacs/deid';

/** What a trusted peer says about an object it de-identified. */
export interface PeerDeidentified {
  /** Age at the study, from the peer's `instances.age_years`. */
  ageYears?: number;
}

/**
 * Takes an object another lpacs de-identified (`lpacs sync`) as it is:
 * de-identifying it again would remap its UIDs and shift its dates a
 * second time, and its SHA-256 would no longer match the sender's, so a
 * rerun could not tell what was already sent. Only an object that says
 * PatientIdentityRemoved (0012,0062) = YES (PS3.15 E.1) and names its
 * DeidentificationMethod (0012,0063), and that verifyDeidentified finds
 * consistent with the profile it declares and with this lake's own
 * options, passes; and only one this lake's ingest would admit under its
 * options (burned-in text, recognizable features: see admission; its
 * blanking rules cannot apply, since the bytes are stored as received).
 * @throws DicomError MISSING_ATTRIBUTE when it does not say so
 * @throws DeidError NOT_DEIDENTIFIED when it says so but is not
 * @throws DeidError BURNED_IN_ANNOTATION or RECOGNIZABLE_VISUAL_FEATURES
 *   when this lake's ingest would refuse it for its pixels
 */
export function acceptDeidentified(
  bytes: Buffer,
  file: DicomFile,
  peer: PeerDeidentified,
  lake: DeidOptions,
): DeidOutcome {
  const { buffer, elements } = file.body;
  const str = (tag: number) =>
    readString(buffer, findElement(elements, tag))?.trim();
  if (
    str(Tag.PatientIdentityRemoved) !== 'YES' ||
    !str(Tag.DeidentificationMethod)
  )
    throw new DicomError(
      DicomErrorCode.MissingAttribute,
      'a synced object must carry PatientIdentityRemoved (0012,0062) YES and a DeidentificationMethod (0012,0063)',
    );
  // The markers alone are two attributes anyone can add to an original.
  const why = verifyDeidentified(file, lake);
  if (why)
    throw new DeidError(
      DeidErrorCode.NotDeidentified,
      `a synced object that is not de-identified as it says: ${why}`,
    );
  // The gates ingest applies here, whatever the sender's lake accepts.
  try {
    admission(file, { ...lake, blanking: [] });
  } catch (err) {
    if (!(err instanceof DeidError)) throw err;
    // Ingest's advice (a blanking rule, then retry) cannot apply: a
    // synced object is stored as it came, and its refusal keeps no bytes.
    throw new DeidError(
      err.code,
      `${err.message.split('; ')[0]}: a synced object this lake's ingest would refuse`,
    );
  }
  const sopInstanceUID = str(Tag.SOPInstanceUID);
  const sopClassUID = str(Tag.SOPClassUID);
  if (!sopInstanceUID || !sopClassUID)
    throw new DicomError(
      DicomErrorCode.MissingAttribute,
      'no SOPInstanceUID (0008,0018) or SOPClassUID (0008,0016)',
    );
  const age = peer.ageYears;
  return {
    bytes,
    transferSyntaxUID: file.transferSyntaxUID,
    sopClassUID,
    sopInstanceUID,
    patientPseudonym: str(Tag.PatientID) ?? '',
    ageYears:
      age !== undefined && Number.isInteger(age) && age >= 0 && age <= 90
        ? age
        : undefined,
    dateShiftDays: 0,
    actions: {},
    warnings: [],
    linkage: undefined,
  };
}
