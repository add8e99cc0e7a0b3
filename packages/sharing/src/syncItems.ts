import { Catalog } from '@lpacs/lake';
import { readReleaseManifest } from './buildRelease';
import { SharingStore } from './SharingStore';

/** One de-identified object to send to a peer lake. */
export interface SyncItem {
  sha256: string;
  /** Where the object lives under the lake root. */
  objectKey: string;
  sizeBytes: number;
  /** The lake's `age_years`, which the object itself may not hold. */
  ageYears: number | undefined;
}

/** What to send: a saved cohort's frozen instances, or a release's. */
export type SyncSelection = { cohort: string } | { release: string };

async function agesBySha(
  lakeRoot: string,
  shas: string[],
): Promise<Map<string, number>> {
  if (!shas.length) return new Map();
  const catalog = await Catalog.open(lakeRoot, { threads: 1 });
  try {
    const rows = await catalog.query(
      `SELECT sha256, any_value(age_years) AS age FROM instances
        WHERE sha256 IN (SELECT unnest(string_split(?, ',')))
        GROUP BY sha256`,
      [shas.join(',')],
    );
    const out = new Map<string, number>();
    for (const r of rows)
      if (r.age !== null) out.set(String(r.sha256), Number(r.age));
    return out;
  } finally {
    await catalog.close();
  }
}

/**
 * The objects of a saved cohort, or of a release that is approved (a
 * pending, denied or revoked one is refused), with their SHA-256.
 * @throws Error naming the cohort or release when it cannot be sent.
 */
export async function syncItems(
  lakeRoot: string,
  selection: SyncSelection,
): Promise<SyncItem[]> {
  const sharing = new SharingStore(lakeRoot);
  let items: Array<Omit<SyncItem, 'ageYears'>>;
  if ('cohort' in selection) {
    items = (await sharing.cohortInstances(selection.cohort)).map((i) => ({
      sha256: i.sha256,
      objectKey: i.object_key,
      sizeBytes: i.size_bytes,
    }));
  } else {
    const share = sharing
      .shares()
      .find((s) => s.releaseId === selection.release);
    if (!share || share.status !== 'approved')
      throw new Error(
        `release "${selection.release}" is not an approved release of this lake${share ? ` (its share is ${share.status})` : ''}`,
      );
    const manifest = await readReleaseManifest(lakeRoot, selection.release);
    items = manifest.files.flatMap((f) =>
      'objectKey' in f.source
        ? [
            {
              sha256: f.sha256,
              objectKey: f.source.objectKey,
              sizeBytes: f.size,
            },
          ]
        : [],
    );
  }
  const unique = [...new Map(items.map((i) => [i.sha256, i])).values()];
  const ages = await agesBySha(
    lakeRoot,
    unique.map((i) => i.sha256),
  );
  return unique.map((i) => ({ ...i, ageYears: ages.get(i.sha256) }));
}
