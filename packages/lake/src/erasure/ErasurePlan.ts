import { rm } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { readObject, writeLakeFile } from '../encryption/objectFiles';
import { fsyncPath } from '../fsutil';
import { LakeError, LakeErrorCode } from '../LakeError';
import { LakeLayout } from '../LakeLayout';

/**
 * The steps of an erasure, in the order they run. A plan an older lpacs
 * wrote lacks the newer ones in `done`: they run when it is finished.
 */
export const ERASURE_STEPS = [
  'tables',
  'objects',
  'orphans',
  'leftovers',
  'jobs',
  'linkage',
  'quarantine',
  'spool',
  'tombstone',
  'sharing',
] as const;

export type ErasureStep = (typeof ERASURE_STEPS)[number];

/**
 * Everything an erasure removes, decided before anything is removed and
 * kept in `state/erasure.json` until every step is done: a process killed
 * half-way leaves the plan, and the next erasure finishes it from the
 * plan (once the rows are gone, a query could no longer find what their
 * objects, linkage and quarantined originals were). Holds pseudonyms,
 * remapped UIDs and object keys only, never an original identifier.
 */
export interface ErasurePlan {
  /** The audit action that asked for it (`erase.patient`, ...). */
  action: string;
  /** What was named (a hash of it for a patient or study). */
  target: string;
  reason: string;
  begun: string;
  /** Leave tombstones for `patients` (an erasure on request). */
  tombstone: boolean;
  instances: string[];
  /** Series, studies and patients left with no instance. */
  series: string[];
  studies: string[];
  patients: string[];
  /**
   * Series, studies and patients of the erased instances that other
   * instances still hold (another patient's after a PatientID correction,
   * a later batch's): all their level rows go, and one is written again
   * from the instances left, so no row written for an erased instance
   * stays. Absent from older plans.
   */
  kept?: { series: string[]; studies: string[]; patients: string[] };
  /** Pseudonymous AccessionNumbers found only in erased instances. */
  accessions: string[];
  /** Object keys of the erased instances. */
  objects: string[];
  /**
   * Object keys of the conflict versions (kept by CONFLICT quarantine
   * records) of its patients or studies; absent from older plans.
   */
  conflicts?: string[];
  done: ErasureStep[];
}

const key = (layout: LakeLayout) => relative(layout.root, layout.erasure);

/** The plan of an erasure left unfinished, or undefined. */
export async function readErasurePlan(
  root: string,
): Promise<ErasurePlan | undefined> {
  const layout = new LakeLayout(root);
  let text: string;
  try {
    text = (await readObject(root, key(layout))).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as ErasurePlan;
  } catch {
    throw new LakeError(
      LakeErrorCode.Corrupt,
      `${layout.erasure} is not valid JSON: an interrupted erasure cannot be finished from it`,
    );
  }
}

/** Writes the plan whole and flushed (sealed in an encrypted lake). */
export async function writeErasurePlan(
  root: string,
  plan: ErasurePlan,
): Promise<void> {
  const layout = new LakeLayout(root);
  await writeLakeFile(root, key(layout), JSON.stringify(plan));
  await fsyncPath(dirname(layout.erasure));
}

/** Deletes the plan: the erasure is complete. */
export async function removeErasurePlan(root: string): Promise<void> {
  const layout = new LakeLayout(root);
  await rm(layout.erasure, { force: true });
  await fsyncPath(dirname(layout.erasure)).catch(() => undefined);
}
