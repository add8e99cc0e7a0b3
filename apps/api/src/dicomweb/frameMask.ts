import { LakeLayout, readObject } from '@lpacs/lake';
import type { InstanceRow } from './instanceRows';
import { npyMask } from './npyMask';
import { segmentationMask } from './segmentationMask';
import type { FrameMask } from './segmentationMask';
import type { WadoContext } from './wadoShared';

const layout = new LakeLayout('');

/** A lake object, or undefined when there is none at that key. */
async function readIfPresent(
  ctx: WadoContext,
  key: string,
): Promise<Buffer | undefined> {
  try {
    return await readObject(ctx.lake, key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The instance's Rows and Columns, from the catalog. */
async function imageSize(
  ctx: WadoContext,
  row: InstanceRow,
): Promise<[number, number]> {
  const [size] = await ctx.catalog.query(
    `SELECT "Rows", "Columns" FROM instances WHERE "SOPInstanceUID" = ?
     ORDER BY batch DESC LIMIT 1`,
    [row.SOPInstanceUID],
  );
  return [Number(size?.Rows ?? 0), Number(size?.Columns ?? 0)];
}

/**
 * What a segmentation model's job left over one frame of an instance, in
 * the order it is looked for:
 * 1. the DICOM SEG (`<SOP>-<frame index>.seg.dcm`; single-frame sources
 *    with full geometry), read through its own references;
 * 2. the frame's `.npy` (`<SOP>-<frame index>.npy`; any per-frame model,
 *    multi-frame sources included);
 * 3. the series' `.npy` (`<Series>-0.npy`): a stacking model's one mask for
 *    the whole series, which names no slice, so it covers every frame.
 * The `.npy` masks are resampled to the instance's Rows and Columns the way
 * the SEG writer resamples (see npyMask). Objects are read through the
 * lake, so an encrypted lake's masks are opened like its images.
 * @param frame - 1-based.
 * @returns undefined when the model left no mask for that frame.
 */
export async function frameMask(
  ctx: WadoContext,
  row: InstanceRow,
  model: string,
  frame: number,
): Promise<FrameMask | undefined> {
  const sop = row.SOPInstanceUID;
  const seg = await readIfPresent(
    ctx,
    layout.segmentationKey(model, sop, frame - 1),
  );
  if (seg) return segmentationMask(seg, sop, frame);
  const npy =
    (await readIfPresent(ctx, layout.maskKey(model, sop, frame - 1))) ??
    (await readIfPresent(ctx, layout.maskKey(model, row.SeriesInstanceUID, 0)));
  if (!npy) return undefined;
  const [rows, columns] = await imageSize(ctx, row);
  return npyMask(npy, rows, columns);
}
