import { readObject, writeLakeFile } from '../encryption/objectFiles';
import { LakeLayout } from '../LakeLayout';
import { relative } from 'node:path';

/**
 * Why a patient's files are refused: when and by what kind of erasure.
 * Not the operator's reason: free text that may name the patient, kept
 * in the audit log only.
 */
export interface Tombstone {
  at: string;
  /** The audit action that erased the patient (`erase.patient`). */
  kind: string;
}

/**
 * The patients erased on request, by pseudonym (empty when none). A
 * pseudonym is derived from the site secret, so it says nothing of the
 * patient to anyone without it; the file is sealed like all lake state.
 */
export async function readTombstones(
  root: string,
): Promise<Map<string, Tombstone>> {
  const layout = new LakeLayout(root);
  let text: string;
  try {
    text = (await readObject(root, relative(root, layout.tombstones))).toString(
      'utf8',
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const parsed = JSON.parse(text) as {
    patients?: Record<string, Partial<Tombstone>>;
  };
  // Files written before held a `reason`: left out, so the next write
  // drops it.
  return new Map(
    Object.entries(parsed.patients ?? {}).map(([p, t]) => [
      p,
      { at: String(t.at), kind: t.kind ?? 'erase.patient' },
    ]),
  );
}

/**
 * Adds tombstones (a patient erased twice keeps the first). Must run
 * under the lake's write lock: the file is read, changed and rewritten.
 */
export async function addTombstones(
  root: string,
  patients: readonly string[],
  tombstone: Tombstone,
): Promise<number> {
  const known = await readTombstones(root);
  let added = 0;
  for (const p of patients)
    if (!known.has(p)) {
      known.set(p, tombstone);
      added++;
    }
  if (!added) return 0;
  const layout = new LakeLayout(root);
  await writeLakeFile(
    root,
    relative(root, layout.tombstones),
    `${JSON.stringify({ patients: Object.fromEntries(known) }, null, 1)}\n`,
  );
  return added;
}
