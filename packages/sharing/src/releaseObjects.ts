import { objectSize } from '@lpacs/lake';
import { SharingError, SharingErrorCode } from './SharingError';
import type { FrozenInstance, ReleaseFile, SavedCohort } from './types';

/** The path of an instance inside a release download. */
export function instancePath(i: FrozenInstance): string {
  return `dicom/${i.StudyInstanceUID}/${i.SeriesInstanceUID}/${i.SOPInstanceUID}.dcm`;
}

/**
 * The release's DICOM files, checked against the lake.
 * @throws SharingError OBJECTS_MISSING when any object named is gone or
 *   no longer its recorded size: an inconsistent lake is reported, not
 *   released.
 */
export async function releaseObjects(
  lakeRoot: string,
  cohort: SavedCohort,
  instances: FrozenInstance[],
): Promise<ReleaseFile[]> {
  const files: ReleaseFile[] = [];
  let missing = 0;
  let changed = 0;
  for (const i of instances) {
    let size: number;
    try {
      size = await objectSize(lakeRoot, i.object_key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing++;
      continue;
    }
    if (size !== i.size_bytes) changed++;
    files.push({
      path: instancePath(i),
      sha256: i.sha256,
      size: i.size_bytes,
      source: { objectKey: i.object_key },
    });
  }
  if (missing || changed) {
    const of = (n: number) =>
      `${n} of its ${instances.length} objects ${n === 1 ? 'is' : 'are'}`;
    const parts = [
      ...(missing ? [`${of(missing)} no longer in the lake`] : []),
      ...(changed ? [`${of(changed)} not the size its list says`] : []),
    ];
    throw new SharingError(
      SharingErrorCode.ObjectsMissing,
      `cannot build a release of cohort ${cohort.id}: ${parts.join('; ')}; nothing was released`,
      { missingObjects: missing, changedObjects: changed },
    );
  }
  return files;
}
