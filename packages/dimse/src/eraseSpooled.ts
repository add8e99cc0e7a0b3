import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { originalIdentities } from '@lpacs/ingest';
import { fsyncPath, openLakeCipher } from '@lpacs/lake';
import type { Lake } from '@lpacs/lake';
import { FILE, TEMPORARY_PREFIX } from './Spool';

/** What an erasure covers, by pseudonym and the lake's StudyInstanceUID. */
export interface SpoolScope {
  patients: readonly string[];
  studies: readonly string[];
}

/**
 * The paths of the spooled originals of the patients or studies of
 * `scope`, in every SCP's spool folder under the lake, each matched as a
 * quarantined original is (see quarantineIdentity): its PatientID and
 * StudyInstanceUID keyed with the site secret as ingest keys them. A
 * sealed file (an encrypted lake) is opened with the lake's cipher. A
 * file that does not parse names no patient and is left.
 *
 * Only for a lake opened for writing alone (an erasure): a running SCP
 * holds the lake (its ingest session appends), so every spool folder
 * found then is one whose SCP has stopped, whatever its pid now names.
 */
export async function spooledOriginalsOf(
  lake: Lake,
  scope: SpoolScope,
): Promise<string[]> {
  const patients = new Set(scope.patients);
  const studies = new Set(scope.studies);
  if (!patients.size && !studies.size) return [];
  const root = join(lake.root, 'spool');
  const cipher = openLakeCipher(lake.root);
  const identify = originalIdentities(lake);
  const found: string[] = [];
  for (const folder of await readdir(root).catch(() => [])) {
    const dir = join(root, folder);
    for (const name of await readdir(dir).catch(() => [])) {
      if (!FILE.test(name)) continue;
      const path = join(dir, name);
      // Only a file gone meanwhile is passed over: one that cannot be
      // read could be the patient's, and must not be missed.
      const stored = await readFile(path).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      });
      if (!stored) continue;
      const bytes = cipher ? cipher.open(stored, 'a spooled instance') : stored;
      const of = await identify(bytes);
      const study = of?.studyInstanceUID;
      if (of && (patients.has(of.patientID) || (study && studies.has(study))))
        found.push(path);
    }
  }
  return found;
}

/**
 * Deletes the spooled originals of an erasure's patients and studies
 * (see spooledOriginalsOf), which the next `serve --dimse-port` would
 * otherwise ingest or keep as ERASED quarantine entries, and the
 * temporary files of stopped SCPs (never answered, unreadable as to
 * whose they are; a takeover deletes them too). A folder left empty
 * goes. Returns how many originals it deleted; safe to run again.
 */
export async function eraseSpooled(
  lake: Lake,
  scope: SpoolScope,
): Promise<number> {
  const root = join(lake.root, 'spool');
  const paths = await spooledOriginalsOf(lake, scope);
  let erased = 0;
  for (const path of paths) {
    try {
      await rm(path);
      erased++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const folders = await readdir(root).catch(() => []);
  for (const folder of folders) {
    const dir = join(root, folder);
    for (const name of await readdir(dir).catch(() => []))
      if (name.startsWith(TEMPORARY_PREFIX))
        await rm(join(dir, name), { force: true });
    try {
      await rmdir(dir);
    } catch {
      await fsyncPath(dir).catch(() => undefined); // holds others' files
    }
  }
  if (folders.length) await fsyncPath(root);
  return erased;
}
