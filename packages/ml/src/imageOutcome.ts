import { maskKey } from '@lpacs/lake';
import type { MaskNaming, Row } from '@lpacs/lake';
import { decodeNpy } from './decodeNpy';
import {
  encodeSegmentation,
  encodeSegmentationPlanes,
} from './encodeSegmentation';
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
  /** How the lake names masks (maskNaming; keyed when encrypted). */
  names: MaskNaming;
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
    const key = maskKey(
      ctx.names,
      registered.sha256,
      target.SOPInstanceUID!,
      target.frame_index ?? 0,
      'seg',
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
    ctx.names,
  );
  if (!p.mask) return { rows: p.rows, masks: [] };
  const masks = [{ key: p.mask.key, bytes: p.mask.bytes }];
  const seg = segSource && segmentationOf(ctx, target, segSource, p.mask);
  if (seg) masks.push(seg);
  return { rows: p.rows, masks };
}

/** The model and time a SEG names. */
function segModel(ctx: OutcomeContext) {
  const { registered } = ctx;
  return {
    labels: registered.manifest.outputs[0]!.labels,
    model: {
      name: registered.manifest.name,
      version: registered.manifest.version,
      sha256: registered.sha256,
    },
    createdAt: new Date(ctx.createdAt),
  };
}

/** A predicted frame of a multi-frame image and its `.npy` mask. */
export interface FrameMask {
  /** 0-based. */
  frame: number;
  npy: Uint8Array;
}

/**
 * One DICOM SEG over a multi-frame image's predicted frames (in `frames`'
 * order), each SEG frame naming its source frame, at
 * `<SOP>-<first frame>.seg.dcm`; nothing when the image lacks the geometry
 * a SEG needs (see encodeSegmentationPlanes).
 */
export function instanceSegmentation(
  ctx: OutcomeContext,
  sopInstanceUID: string,
  source: Uint8Array,
  frames: readonly FrameMask[],
): { key: string; bytes: Buffer } | undefined {
  if (!frames.length) return undefined;
  try {
    const masks = frames.map((f) => decodeNpy(f.npy));
    const [, rows, columns] = masks[0]!.shape as [number, number, number];
    const bytes = encodeSegmentationPlanes({
      ...segModel(ctx),
      sources: [source],
      planes: frames.map((f, i) => ({
        source: 0,
        frame: f.frame,
        mask: masks[i]!.values,
      })),
      maskRows: rows,
      maskColumns: columns,
    });
    const key = maskKey(
      ctx.names,
      ctx.registered.sha256,
      sopInstanceUID,
      frames[0]!.frame,
      'seg',
    );
    return { key, bytes };
  } catch {
    return undefined;
  }
}

/**
 * One DICOM SEG over the slices a stacking model stacked (in that order):
 * the series' one mask on each, each SEG frame naming its slice, at
 * `<Series>-0.seg.dcm` beside the series' `.npy`; nothing when a slice
 * lacks the geometry a SEG needs or the slices differ in size or frame of
 * reference (see encodeSegmentationPlanes).
 */
export function seriesSegmentation(
  ctx: OutcomeContext,
  seriesInstanceUID: string,
  slices: readonly Uint8Array[],
  mask: { values: Uint8Array; shape: number[] },
): { key: string; bytes: Buffer } | undefined {
  const [, rows, columns] = mask.shape as [number, number, number];
  try {
    const bytes = encodeSegmentationPlanes({
      ...segModel(ctx),
      sources: slices,
      planes: slices.map((_, i) => ({ source: i, mask: mask.values })),
      maskRows: rows,
      maskColumns: columns,
      uidSeed: `series ${seriesInstanceUID}`,
    });
    const key = maskKey(
      ctx.names,
      ctx.registered.sha256,
      seriesInstanceUID,
      0,
      'seg',
    );
    return { key, bytes };
  } catch {
    return undefined;
  }
}
