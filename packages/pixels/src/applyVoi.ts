import type { DecodedFrame } from './types';
import type { VoiWindow } from './voiWindow';

/**
 * Maps a grey frame to 8 bits with the linear VOI function of PS3.3
 * C.11.2.1.2.1, inverting for MONOCHROME1. Modality values are recomputed
 * in double precision from the stored ones so that values near a step do
 * not fall on the wrong side of it; the fraction of
 * the (inverted) output is dropped, as dcmtk does.
 */
export function applyVoi(
  frame: DecodedFrame,
  window: VoiWindow,
  invert: boolean,
): Uint8Array {
  const { stored, rescaleSlope: slope, rescaleIntercept: intercept } = frame;
  const { center: c, width: w } = window;
  const out = new Uint8Array(stored.length);
  const bottom = c - 0.5 - (w - 1) / 2;
  const top = c - 0.5 + (w - 1) / 2;
  for (let i = 0; i < stored.length; i++) {
    const x = (stored[i] ?? 0) * slope + intercept;
    // Dividing last keeps exact steps exact (x = 297 of 0..891 gives 85,
    // not 84.99...).
    let y: number;
    if (x <= bottom) y = 0;
    else if (x > top) y = 255;
    else y = ((x - (c - 0.5)) * 255) / (w - 1) + 127.5;
    out[i] = Math.floor(invert ? 255 - y : y);
  }
  return out;
}
