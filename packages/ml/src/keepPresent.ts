import { join } from 'node:path';
import { sealObject } from '@lpacs/lake';
import type { Lake, Row } from '@lpacs/lake';
import { writeMask } from './writeMask';

/**
 * A mask object (.npy or DICOM SEG) a chunk made, under the lake, with
 * the UID of the instance (a series-level mask: the series) it was made
 * from: its name is keyed in an encrypted lake.
 */
export interface MaskFile {
  key: string;
  bytes: Buffer;
  uid: string;
}

/** Mask files written at once. */
const MASK_WRITES = 8;

/**
 * A chunk's rows and masks, less those of instances (series, for a
 * series-level prediction) no longer in the lake, erased since the job
 * selected them; the masks kept are written. Runs on a handle open for
 * writing, which keeps erasures out until the rows are committed through
 * it: no prediction row or mask of an erased instance is written.
 * @returns the rows to commit, and the UIDs whose rows and masks went.
 */
export async function keepPresent(
  lake: Lake,
  rows: Row[],
  masks: readonly MaskFile[] = [],
): Promise<{ rows: Row[]; erased: string[] }> {
  const sops = new Set<string>();
  const series = new Set<string>();
  for (const r of rows) {
    if (r.SOPInstanceUID != null) sops.add(String(r.SOPInstanceUID));
    else series.add(String(r.SeriesInstanceUID));
  }
  // A mask is of an instance or, series-level, of a series: asked as both.
  const ofMasks = new Set(masks.map((m) => m.uid));
  const present = await lake.presentUIDs(
    [...sops, ...ofMasks],
    [...series, ...ofMasks],
  );
  const there = (uid: string) =>
    present.sops.has(uid) || present.series.has(uid);
  const kept = rows.filter((r) =>
    r.SOPInstanceUID != null
      ? present.sops.has(String(r.SOPInstanceUID))
      : present.series.has(String(r.SeriesInstanceUID)),
  );
  const erased = [...new Set([...sops, ...series, ...ofMasks])].filter(
    (uid) => !there(uid),
  );
  // Several at once: one after another, a chunk's masks (a .npy and a SEG
  // per image) took longer to write than its commit.
  const writes = masks.filter((m) => there(m.uid));
  for (let i = 0; i < writes.length; i += MASK_WRITES)
    await Promise.all(
      writes
        .slice(i, i + MASK_WRITES)
        .map((m) =>
          writeMask(join(lake.root, m.key), sealObject(lake.root, m.bytes)),
        ),
    );
  return { rows: kept, erased };
}
