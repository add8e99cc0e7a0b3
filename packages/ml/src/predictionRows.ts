import type { MaskNaming, Row } from '@lpacs/lake';
import { maskKey } from '@lpacs/lake';
import { encodeNpy } from './encodeNpy';
import type { RegisteredModel } from './types';

/** What one model input was: a frame of an instance, or a whole series. */
export interface PredictionTarget {
  /** Null for a series-level (stacked) input. */
  SOPInstanceUID: string | null;
  frame_index: number | null;
  SeriesInstanceUID: string;
  StudyInstanceUID: string;
}

/** The rows of one image's prediction and, for a segmentation, its mask. */
export interface ImagePrediction {
  rows: Row[];
  /** The .npy object, and the mask itself: [labels, rows, columns]. */
  mask?: { key: string; bytes: Buffer; values: Uint8Array; shape: number[] };
}

function assertNever(task: never): never {
  throw new Error(`unknown task ${String(task)}`);
}

/**
 * Turns one image's output into `predictions` rows: a row per label with
 * its score (classification) or value (regression); for a segmentation a
 * uint8 mask object (`.npy`, [labels, rows, columns], 1 where the output
 * exceeds 0.5) and a row per label whose value is that label's fraction of
 * mask pixels. A series-level mask is made from the SeriesInstanceUID.
 * @param dims - the output's shape without the batch axis.
 * @param names - how the lake names masks (maskNaming).
 */
export function predictionRows(
  model: RegisteredModel,
  runId: string,
  target: PredictionTarget,
  values: Float32Array,
  dims: readonly number[],
  createdAt: string,
  names: MaskNaming,
): ImagePrediction {
  const m = model.manifest;
  const labels = m.outputs[0]!.labels;
  const base = {
    model_name: m.name,
    model_version: m.version,
    model_sha256: model.sha256,
    run_id: runId,
    ...target,
    created_at: createdAt,
  };
  switch (m.task) {
    case 'classification':
      return {
        rows: labels.map((label, i) => ({ ...base, label, score: values[i] })),
      };
    case 'regression':
      return {
        rows: labels.map((label, i) => ({ ...base, label, value: values[i] })),
      };
    case 'segmentation': {
      const nchw = m.preprocessing.layout === 'NCHW';
      const [a, b, c] = dims as [number, number, number];
      const [l, h, w] = nchw ? [a, b, c] : [c, a, b];
      const plane = h * w;
      const mask = new Uint8Array(l * plane);
      const counts = new Array<number>(l).fill(0);
      for (let k = 0; k < l; k++)
        for (let i = 0; i < plane; i++) {
          const v = nchw ? values[k * plane + i]! : values[i * l + k]!;
          if (v > 0.5) {
            mask[k * plane + i] = 1;
            counts[k]!++;
          }
        }
      const key = maskKey(
        names,
        model.sha256,
        target.SOPInstanceUID ?? target.SeriesInstanceUID,
        target.frame_index ?? 0,
        'npy',
      );
      return {
        rows: labels.map((label, i) => ({
          ...base,
          label,
          value: counts[i]! / plane,
          mask_key: key,
        })),
        mask: {
          key,
          bytes: encodeNpy(mask, [l, h, w]),
          values: mask,
          shape: [l, h, w],
        },
      };
    }
    default:
      return assertNever(m.task);
  }
}
