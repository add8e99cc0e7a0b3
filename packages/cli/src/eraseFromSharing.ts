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
import { counted } from './format';

/** What an erasure changed in sharing: share ids and cohort ids. */
export interface SharingErased {
  /** Shares whose releases held erased data: revoked, release deleted. */
  releasesRevoked: string[];
  /** Saved cohorts whose frozen lists held erased instances. */
  cohortsChanged: string[];
  /** Steps that failed (`releases`, `saved cohorts`), already reported. */
  failed: string[];
}

/** The SOP Instance UIDs a release holds, from its manifest's paths. */
async function releaseInstances(lake: string, id: string): Promise<string[]> {
  try {
    return releaseInstanceUIDs(await readReleaseManifest(lake, id));
  } catch {
    return []; // erased before, or never built
  }
}

/** Revokes and deletes the releases that held erased instances. */
async function revokeReleases(
  lake: string,
  sharing: SharingStore,
  erased: Erased,
  operator: string,
): Promise<string[]> {
  const revoked = await sharing.flagErased(
    (id) => releaseInstances(lake, id),
    erased.instances,
    operator,
  );
  for (const id of revoked) {
    const releaseId = sharing.share(id).releaseId;
    if (releaseId)
      await rm(releaseDir(lake, releaseId), { recursive: true, force: true });
  }
  return revoked;
}

/** Takes erased instances out of saved cohorts; returns the cohorts changed. */
async function pruneCohorts(
  lake: string,
  sharing: SharingStore,
  erased: Erased,
): Promise<string[]> {
  if (!erased.instances.length) return [];
  const catalog = await Catalog.open(lake, { threads: 1 });
  let unplaced = 0;
  let changed: string[];
  try {
    changed = await sharing.removeErased(
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
      `warning: ${counted(unplaced, 'study', 'studies')} of saved cohorts ${unplaced === 1 ? 'is' : 'are'} no longer in the lake; their patients are not counted, and a share of those cohorts will report missing objects\n`,
    );
  return changed;
}

/**
 * Carries an erasure into sharing: releases that held erased instances
 * are revoked and deleted; saved cohorts lose them from their frozen
 * lists and are recounted from what is left (patients through the lake's
 * catalog, which already lacks the erased rows); names, filters and
 * share texts lose the identifiers that have no data left. Run while the
 * caller still holds the lake for writing, so two erasures cannot
 * interleave their changes to one list. Never throws: the data is gone
 * by now, so the caller must still audit it; a step that failed is
 * named in `failed` and its error written to stderr.
 */
export async function eraseFromSharing(
  lake: string,
  erased: Erased,
  operator: string,
): Promise<SharingErased> {
  const sharing = new SharingStore(lake);
  const out: SharingErased = {
    releasesRevoked: [],
    cohortsChanged: [],
    failed: [],
  };
  const step = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      out.failed.push(name);
      process.stderr.write(
        `error: the data is erased, but ${name} could not be updated: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
  };
  await step('releases', async () => {
    out.releasesRevoked = await revokeReleases(lake, sharing, erased, operator);
  });
  await step('saved cohorts', async () => {
    out.cohortsChanged = await pruneCohorts(lake, sharing, erased);
  });
  return out;
}
