import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDicom } from '@lpacs/dicom';
import {
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  parseOptions,
} from '@lpacs/deid';
import { LakeError, LakeErrorCode } from '@lpacs/lake';
import type { Lake } from '@lpacs/lake';
import { conflictVersions } from './conflictVersions';
import { quarantineIdentity } from './quarantineIdentity';
import type { QuarantinedIdentity } from './quarantineIdentity';

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
 * (kept with its PHI), by entry id (see quarantineIdentity). Recorded
 * with the entry when it was quarantined; read from the original only for
 * entries quarantined before lpacs recorded it, and for those the
 * original is parsed again on every call. One that does not parse cannot
 * be told apart and is left out.
 */
export async function pseudonymsOfQuarantined(
  lake: Lake,
): Promise<Map<string, QuarantinedIdentity>> {
  const out = new Map<string, QuarantinedIdentity>();
  const originals = [...(await lake.quarantinedSizes()).keys()];
  const entries = new Map((await lake.quarantined()).map((e) => [e.id, e]));
  // A refused synced object keeps no bytes, only its record, labelled
  // with its pseudonyms: the record goes with its patient or study too.
  for (const entry of entries.values())
    if (entry.patient && entry.source.startsWith('sync:'))
      out.set(entry.id, {
        patientID: entry.patient,
        ...(entry.study ? { studyInstanceUID: entry.study } : {}),
      });
  let deid: Deidentifier | undefined;
  for (const id of originals) {
    const entry = entries.get(id);
    if (entry?.patient) {
      out.set(id, {
        patientID: entry.patient,
        ...(entry.study ? { studyInstanceUID: entry.study } : {}),
      });
      continue;
    }
    // Only an entry dropped meanwhile is passed over: one that cannot be
    // read (EACCES) could be the patient's, and must not be missed.
    const bytes = await lake.quarantinedOriginal(id).catch((err: unknown) => {
      if (err instanceof LakeError && err.code === LakeErrorCode.NotFound)
        return undefined;
      throw err;
    });
    if (!bytes) continue;
    let file;
    try {
      file = parseDicom(bytes);
    } catch {
      continue; // not DICOM enough to name a patient
    }
    deid ??= await lakeDeidentifier(lake);
    const of = quarantineIdentity(
      file,
      deid,
      entry?.source.startsWith('sync:') ?? false,
    );
    if (of) out.set(id, of);
  }
  return out;
}

async function lakeDeidentifier(lake: Lake): Promise<Deidentifier> {
  const settings = await lake.settings({ deidentification: RESEARCH_DEFAULT });
  return new Deidentifier(
    new SiteKeys(await lake.siteSecret()),
    parseOptions(settings.deidentification),
  );
}

/**
 * Who originals the site sent (a spooled C-STORE, say) are in the lake:
 * a function keying each one's PatientID and StudyInstanceUID with the
 * site secret as ingest keys them (see quarantineIdentity); undefined for
 * bytes that do not parse or name no patient. The lake's settings are
 * read at the first call.
 */
export function originalIdentities(
  lake: Lake,
): (bytes: Buffer) => Promise<QuarantinedIdentity | undefined> {
  let deid: Promise<Deidentifier> | undefined;
  return async (bytes) => {
    let file;
    try {
      file = parseDicom(bytes);
    } catch {
      return undefined; // not DICOM enough to name a patient
    }
    deid ??= lakeDeidentifier(lake);
    return quarantineIdentity(file, await deid, false);
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
