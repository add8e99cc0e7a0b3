import { rm } from 'node:fs/promises';
import { Catalog } from '@lpacs/lake';
import type { Erased } from '@lpacs/lake';
import {
  SharingStore,
  countFrozen,
  readReleaseManifest,
  releaseDir,
  releaseInstanceUIDs,
} from '@lpacs/sharing';

/** What an erasure changed in sharing: share ids and cohort ids. */
export interface SharingErased {
  /** Shares whose releases held erased data: revoked, release deleted. */
  releasesRevoked: string[];
  /** Saved cohorts whose frozen lists held erased instances. */
  cohortsChanged: string[];
}

/** The SOP Instance UIDs a release holds, from its manifest's paths. */
async function releaseInstances(lake: string, id: string): Promise<string[]> {
  try {
    return releaseInstanceUIDs(await readReleaseManifest(lake, id));
  } catch {
    return []; // erased before, or never built
  }
}

/**
 * Carries an erasure into sharing: releases that held erased instances
 * are revoked and deleted; saved cohorts lose them from their frozen
 * lists and are recounted from what is left (patients through the lake's
 * catalog, which already lacks the erased rows); names, filters and
 * share texts lose the identifiers that have no data left. Run while the
 * caller still holds the lake for writing, so two erasures cannot
 * interleave their changes to one list.
 */
export async function eraseFromSharing(
  lake: string,
  erased: Erased,
  operator: string,
): Promise<SharingErased> {
  const sharing = new SharingStore(lake);
  const releasesRevoked = await sharing.flagErased(
    (id) => releaseInstances(lake, id),
    erased.instances,
    operator,
  );
  for (const id of releasesRevoked) {
    const releaseId = sharing.share(id).releaseId;
    if (releaseId)
      await rm(releaseDir(lake, releaseId), { recursive: true, force: true });
  }
  if (!erased.instances.length) return { releasesRevoked, cohortsChanged: [] };
  const catalog = await Catalog.open(lake, { threads: 1 });
  let unplaced = 0;
  let cohortsChanged: string[];
  try {
    cohortsChanged = await sharing.removeErased(
      {
        instances: erased.instances,
        identifiers: [
          ...erased.patients,
          ...erased.studies,
          ...erased.series,
          ...erased.instances,
        ],
      },
      async (left) => {
        const counted = await countFrozen(catalog, left);
        unplaced += counted.unplaced;
        return counted.counts;
      },
    );
  } finally {
    await catalog.close();
  }
  // Only a list already out of step with the lake (an erasure by an
  // older lpacs) names studies the lake lacks; say so rather than guess.
  if (unplaced)
    process.stderr.write(
      `warning: ${unplaced} studies of saved cohorts are no longer in the lake; their patients are not counted, and a share of those cohorts will report missing objects\n`,
    );
  return { releasesRevoked, cohortsChanged };
}
