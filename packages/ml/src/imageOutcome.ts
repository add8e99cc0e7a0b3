import { LakeLayout } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import { encodeSegmentation } from './encodeSegmentation';
import { predictionRows } from './predictionRows';
import type { PredictionTarget } from './predictionRows';
import type { RegisteredModel } from './types';

/** What one image's model output becomes. */
export interface ImageOutcome {
  rows: Row[];
  /** Mask objects to store: the .npy and, when there is one, the SEG. */
  masks: Array<{ key: string; bytes: Buffer }>;
}

/** What is the same for every image of a run. */
export interface OutcomeContext {
  registered: RegisteredModel;
  runId: string;
  /** The output's shape without the batch axis. */
  dims: readonly number[];
  createdAt: string;
}

/**
 * A mask as a DICOM SEG over its source, or nothing when the source lacks
 * the geometry a SEG needs (the .npy mask is written either way).
 */
function segmentationOf(
  ctx: OutcomeContext,
  target: PredictionTarget,
  source: Uint8Array,
  mask: { values: Uint8Array; shape: number[] },
): { key: string; bytes: Buffer } | undefined {
  const { registered } = ctx;
  const [, rows, columns] = mask.shape as [number, number, number];
  try {
    const bytes = encodeSegmentation({
      source,
      mask: mask.values,
      maskRows: rows,
      maskColumns: columns,
      labels: registered.manifest.outputs[0]!.labels,
      model: {
        name: registered.manifest.name,
        version: registered.manifest.version,
        sha256: registered.sha256,
      },
      createdAt: new Date(ctx.createdAt),
    });
    const key = new LakeLayout('').segmentationKey(
      registered.sha256,
      target.SOPInstanceUID!,
      target.frame_index ?? 0,
    );
    return { key, bytes };
  } catch {
    return undefined;
  }
}

/**
 * One image's prediction rows and mask objects (see predictionRows); with
 * `segSource`, the single-frame image it came from, a segmentation mask is
 * also encoded as a DICOM Segmentation object over it.
 */
export function imageOutcome(
  ctx: OutcomeContext,
  target: PredictionTarget,
  values: Float32Array,
  segSource?: Uint8Array,
): ImageOutcome {
  const p = predictionRows(
    ctx.registered,
    ctx.runId,
    target,
    values,
    ctx.dims,
    ctx.createdAt,
  );
  if (!p.mask) return { rows: p.rows, masks: [] };
  const masks = [{ key: p.mask.key, bytes: p.mask.bytes }];
  const seg = segSource && segmentationOf(ctx, target, segSource, p.mask);
  if (seg) masks.push(seg);
  return { rows: p.rows, masks };
}
