import { Tag, parseDicom, topString } from '@lpacs/dicom';
import { readObject } from '@lpacs/lake';
import type { Lake } from '@lpacs/lake';

/** The other version of an instance that a CONFLICT record kept. */
export interface ConflictVersion {
  /** The quarantine entry of the CONFLICT record. */
  id: string;
  /** The lake's SOP Instance UID of both versions. */
  sopInstanceUID: string;
  /** Where the version is kept: `objects/xx/<sha256>.dcm`. */
  objectKey: string;
  /** Its PatientID and StudyInstanceUID: de-identified, the lake's own. */
  patientID?: string;
  studyInstanceUID?: string;
}

/** `SOP Instance <uid> ... kept as <object key>` (IngestSession's record). */
const CONFLICT =
  /SOP Instance ([0-9.]+) .* kept as (objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.dcm)/;

/**
 * Every CONFLICT record with the version it kept, and the patient and
 * study that version names: it was de-identified like any object, so an
 * erasure of its pseudonym or study must find it even when the lake's
 * instance of that SOP Instance UID is another patient's. A version
 * gone or unreadable names none.
 * TODO: each kept version is read and parsed on every call; a lake with
 * 10 000 conflicts adds a few seconds to each erasure or listing.
 */
export async function conflictVersions(lake: Lake): Promise<ConflictVersion[]> {
  const out: ConflictVersion[] = [];
  for (const entry of await lake.quarantined()) {
    if (entry.code !== 'CONFLICT') continue;
    const m = CONFLICT.exec(entry.message);
    if (!m) continue;
    const version: ConflictVersion = {
      id: entry.id,
      sopInstanceUID: m[1]!,
      objectKey: m[2]!,
    };
    try {
      const file = parseDicom(await readObject(lake.root, version.objectKey));
      const read = (tag: number) => topString(file.body, tag);
      const patientID = read(Tag.PatientID);
      const studyInstanceUID = read(Tag.StudyInstanceUID);
      if (patientID) version.patientID = patientID;
      if (studyInstanceUID) version.studyInstanceUID = studyInstanceUID;
    } catch {
      // gone (erased already) or not DICOM: names no one
    }
    out.push(version);
  }
  return out;
}

/**
 * The object keys every CONFLICT record says it kept, read from the
 * records alone (no version is opened): what `POST /sync/have` consults
 * so a peer does not send again a version it keeps.
 */
export async function conflictObjectKeys(lake: Lake): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const entry of await lake.quarantined()) {
    if (entry.code !== 'CONFLICT') continue;
    const m = CONFLICT.exec(entry.message);
    if (m) keys.add(m[2]!);
  }
  return keys;
}

/**
 * The object keys of the conflict versions of the patients or studies
 * of `scope` (see conflictVersions).
 */
export async function conflictVersionsOf(
  lake: Lake,
  scope: { patients: readonly string[]; studies: readonly string[] },
): Promise<string[]> {
  const patients = new Set(scope.patients);
  const studies = new Set(scope.studies);
  if (!patients.size && !studies.size) return [];
  const keys = new Set<string>();
  for (const v of await conflictVersions(lake))
    if (
      (v.patientID && patients.has(v.patientID)) ||
      (v.studyInstanceUID && studies.has(v.studyInstanceUID))
    )
      keys.add(v.objectKey);
  return [...keys];
}
