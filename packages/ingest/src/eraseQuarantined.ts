import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Tag, findElement, parseDicom, readString } from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import {
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  parseOptions,
} from '@lpacs/deid';
import type { Lake } from '@lpacs/lake';
import { conflictVersions } from './conflictVersions';

/** What an erasure covers, by pseudonym and remapped UID. */
export interface QuarantineScope {
  patients: readonly string[];
  studies: readonly string[];
  instances: readonly string[];
  /** Conflict versions of its patients or studies (conflictVersionsOf). */
  conflicts?: readonly string[];
}

/** What eraseQuarantined removed. */
export interface QuarantineErased {
  /** Quarantined originals of the erased patients or studies. */
  originals: number;
  /**
   * CONFLICT records of erased instances or whose kept version is of an
   * erased patient or study, each with that version.
   */
  conflicts: number;
}

/**
 * The lake's PatientID and StudyInstanceUID of each quarantined original
 * (kept with its PHI), by entry id: its identity de-identified the way
 * ingest would, from the site secret, or as is for what sync received.
 * One that does not parse cannot be told apart and is left out.
 * TODO: every original is read and parsed on every call; a quarantine
 * of 100 000 files adds about a minute to each erasure or listing.
 */
export async function pseudonymsOfQuarantined(
  lake: Lake,
): Promise<Map<string, { patientID: string; studyInstanceUID?: string }>> {
  const out = new Map<
    string,
    { patientID: string; studyInstanceUID?: string }
  >();
  const originals = [...(await lake.quarantinedSizes()).keys()];
  if (!originals.length) return out;
  // What sync received was de-identified by its sender and would have
  // been kept with its identity as is: its PatientID is the lake's
  // pseudonym already, not an original to key.
  const received = new Set(
    (await lake.quarantined())
      .filter((e) => e.source.startsWith('sync:'))
      .map((e) => e.id),
  );
  const settings = await lake.settings({ deidentification: RESEARCH_DEFAULT });
  const deid = new Deidentifier(
    new SiteKeys(await lake.siteSecret()),
    parseOptions(settings.deidentification),
  );
  for (const id of originals) {
    const bytes = await lake.quarantinedOriginal(id).catch(() => undefined);
    if (!bytes) continue;
    try {
      const file = parseDicom(bytes);
      const of = received.has(id)
        ? identityAsIs(file)
        : deid.pseudonymsOf(file);
      if (!of.patientID) continue;
      out.set(id, {
        patientID: of.patientID,
        ...(of.studyInstanceUID
          ? { studyInstanceUID: of.studyInstanceUID }
          : {}),
      });
    } catch {
      // not DICOM enough to name a patient
    }
  }
  return out;
}

/** The PatientID and StudyInstanceUID an object carries, as they are. */
function identityAsIs(file: DicomFile): {
  patientID: string | undefined;
  studyInstanceUID: string | undefined;
} {
  const { buffer, elements } = file.body;
  return {
    patientID: readString(buffer, findElement(elements, Tag.PatientID))?.trim(),
    studyInstanceUID: readString(
      buffer,
      findElement(elements, Tag.StudyInstanceUID),
    )?.trim(),
  };
}

/**
 * The ids of the quarantined originals of the patients or studies of
 * `scope` (see pseudonymsOfQuarantined).
 */
export async function quarantinedOriginalsOf(
  lake: Lake,
  scope: Pick<QuarantineScope, 'patients' | 'studies'>,
): Promise<string[]> {
  const patients = new Set(scope.patients);
  const studies = new Set(scope.studies);
  if (!patients.size && !studies.size) return [];
  const found: string[] = [];
  for (const [id, of] of await pseudonymsOfQuarantined(lake)) {
    const study = of.studyInstanceUID;
    if (patients.has(of.patientID) || (study && studies.has(study)))
      found.push(id);
  }
  return found;
}

/**
 * Deletes the quarantine entries of what an erasure removes: the
 * originals of its patients and studies (see quarantinedOriginalsOf),
 * and each CONFLICT record of an erased instance, or that kept a version
 * the plan names, with that version. Safe to run again: the records are
 * matched by the plan's keys, not by reading versions it deleted.
 */
export async function eraseQuarantined(
  lake: Lake,
  scope: QuarantineScope,
): Promise<QuarantineErased> {
  const out: QuarantineErased = { originals: 0, conflicts: 0 };
  const instances = new Set(scope.instances);
  const kept = new Set(scope.conflicts);
  for (const v of await conflictVersions(lake)) {
    if (!instances.has(v.sopInstanceUID) && !kept.has(v.objectKey)) continue;
    await rm(join(lake.root, v.objectKey), { force: true });
    if (await lake.dropQuarantined(v.id)) out.conflicts++;
  }
  for (const id of await quarantinedOriginalsOf(lake, scope))
    if (await lake.dropQuarantined(id)) out.originals++;
  return out;
}
