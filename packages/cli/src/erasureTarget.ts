import { createHash } from 'node:crypto';
import {
  PATIENT_PSEUDONYM,
  RESEARCH_DEFAULT,
  SiteKeys,
  parseOptions,
} from '@lpacs/deid';
import { Lake } from '@lpacs/lake';
import type { ErasureRequest } from './runErasure';

/** What `lpacs erase` was told to erase. */
export interface EraseFlags {
  patient?: string | undefined;
  study?: string | undefined;
  /** The site's PatientID (an MRN), as a withdrawal request names it. */
  originalPatientId?: string | undefined;
  /** Its IssuerOfPatientID (0010,0021), when the site's files carry one. */
  issuer?: string | undefined;
  /** The StudyInstanceUID the site sent, before de-identification. */
  originalStudyUid?: string | undefined;
}

/** The erasure's target, or why the flags name none. */
export type ErasureTarget =
  | {
      ok: true;
      request: Omit<ErasureRequest, 'reason'>;
      /** Named by an original value, which no output may repeat. */
      byOriginal: boolean;
    }
  | { ok: false; problem: string };

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** A value the audit log may hold only as a hash. */
export function hashed(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** The site's keys and whether the lake keeps the original UIDs. */
async function lakeKeys(
  root: string,
): Promise<{ keys: SiteKeys; retainUIDs: boolean }> {
  const lake = await Lake.open(root, undefined, 'read');
  try {
    const settings = await lake.settings({
      deidentification: RESEARCH_DEFAULT,
    });
    return {
      keys: new SiteKeys(await lake.siteSecret()),
      retainUIDs: parseOptions(settings.deidentification).retainUIDs,
    };
  } finally {
    lake.close();
  }
}

function patientRequest(pseudonym: string): Omit<ErasureRequest, 'reason'> {
  return {
    action: 'erase.patient',
    target: pseudonym,
    where: { sql: '"PatientID" = ?', params: [pseudonym] },
    tombstone: true,
    patients: [pseudonym],
  };
}

function studyRequest(
  uid: string,
  target: string,
): Omit<ErasureRequest, 'reason'> {
  return {
    action: 'erase.study',
    target,
    where: { sql: '"StudyInstanceUID" = ?', params: [uid] },
    tombstone: false,
    studies: [uid],
  };
}

/**
 * The lake's identifiers for what the flags name: a pseudonym or a lake
 * StudyInstanceUID as given, or computed from an original with the site
 * secret exactly as ingest does (PatientID and IssuerOfPatientID keyed as
 * `id:ISSUER|ID`, the UID through SiteKeys.uid unless the lake keeps
 * UIDs). The audit target is the lake's identifier, but a hash when it
 * is an original UID (a lake that keeps UIDs).
 */
export async function erasureTarget(
  root: string,
  flags: EraseFlags,
): Promise<ErasureTarget> {
  const given = [
    flags.patient,
    flags.study,
    flags.originalPatientId,
    flags.originalStudyUid,
  ].filter((v) => v !== undefined);
  if (given.length !== 1)
    return {
      ok: false,
      problem: `name ${given.length ? 'only ' : ''}one of --patient, --study, --original-patient-id, --original-study-uid`,
    };
  if (flags.issuer !== undefined && flags.originalPatientId === undefined)
    return { ok: false, problem: '--issuer goes with --original-patient-id' };
  if (flags.patient !== undefined) {
    const p = flags.patient.trim();
    if (!PATIENT_PSEUDONYM.test(p))
      return {
        ok: false,
        // Not echoed: it may be the site's PatientID, typed here.
        problem: `the --patient given is not a PatientID of this lake (LP and 16 letters or digits); for the site's PatientID give --original-patient-id`,
      };
    return { ok: true, request: patientRequest(p), byOriginal: false };
  }
  if (flags.study !== undefined) {
    const uid = flags.study.trim();
    if (!UID.test(uid) || uid.length > 64)
      return {
        ok: false,
        problem: `the --study given is not a StudyInstanceUID (digits and dots, at most 64)`,
      };
    const { retainUIDs } = await lakeKeys(root);
    return {
      ok: true,
      request: studyRequest(uid, retainUIDs ? hashed(uid) : uid),
      byOriginal: false,
    };
  }
  const { keys, retainUIDs } = await lakeKeys(root);
  if (flags.originalPatientId !== undefined) {
    // readIdentity trims both before keying.
    const id = flags.originalPatientId.trim();
    if (!id) return { ok: false, problem: '--original-patient-id is empty' };
    const issuer = flags.issuer?.trim() ?? '';
    const pseudonym = keys.patientPseudonym(`id:${issuer}|${id}`);
    return { ok: true, request: patientRequest(pseudonym), byOriginal: true };
  }
  const original = flags.originalStudyUid!.trim();
  if (!UID.test(original) || original.length > 64)
    return {
      ok: false,
      problem:
        '--original-study-uid is not a StudyInstanceUID (digits and dots, at most 64)',
    };
  const uid = retainUIDs ? original : keys.uid(original);
  return {
    ok: true,
    request: studyRequest(uid, retainUIDs ? hashed(uid) : uid),
    byOriginal: true,
  };
}
