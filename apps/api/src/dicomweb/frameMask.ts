import { maskKeysToRead, maskNaming, readObject } from '@lpacs/lake';
import type { MaskKind } from '@lpacs/lake';
import type { InstanceRow } from './instanceRows';
import { npyMask } from './npyMask';
import { segmentationMask } from './segmentationMask';
import type { FrameMask } from './segmentationMask';
import type { WadoContext } from './wadoShared';

/**
 * The mask `model` made over frame `frame` (0-based) of the instance or
 * series `of`, or undefined when there is none: looked for where
 * maskNames says (a keyed name in an encrypted lake).
 */
async function readMask(
  ctx: WadoContext,
  model: string,
  of: string,
  frame: number,
  kind: MaskKind,
): Promise<Buffer | undefined> {
  const naming = maskNaming(ctx.lake);
  for (const key of maskKeysToRead(naming, model, of, frame, kind)) {
    try {
      return await readObject(ctx.lake, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return undefined;
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
 * (names as in a lake in the clear; an encrypted lake's are keyed, see
 * the lake's maskNames):
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
  const seg = await readMask(ctx, model, sop, frame - 1, 'seg');
  if (seg) return segmentationMask(seg, sop, frame);
  const npy =
    (await readMask(ctx, model, sop, frame - 1, 'npy')) ??
    (await readMask(ctx, model, row.SeriesInstanceUID, 0, 'npy'));
  if (!npy) return undefined;
  const [rows, columns] = await imageSize(ctx, row);
  return npyMask(npy, rows, columns);
}
