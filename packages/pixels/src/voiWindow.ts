import type { DecodedFrame, RenderOptions } from './types';
import { PixelError, PixelErrorCode } from './PixelError';

/** A VOI window in modality units (PS3.3 C.11.2.1.2). */
export interface VoiWindow {
  center: number;
  width: number;
}

function isUsable(center?: number, width?: number): boolean {
  return (
    center !== undefined &&
    width !== undefined &&
    Number.isFinite(center) &&
    Number.isFinite(width) &&
    width >= 1
  );
}

/**
 * The window a frame is shown with: the request's, else the file's first
 * (when its width is at least 1), else one spanning the frame's minimum to
 * maximum modality value.
 * @throws PixelError `BAD_WINDOW` when the request gives only one of the
 * two values or a width below 1 (PS3.3 C.11.2.1.2.1).
 */
export function voiWindow(
  frame: DecodedFrame,
  request: Pick<RenderOptions, 'windowCenter' | 'windowWidth'>,
): VoiWindow {
  const { windowCenter: c, windowWidth: w } = request;
  if (c !== undefined || w !== undefined) {
    if (!isUsable(c, w)) {
      throw new PixelError(
        PixelErrorCode.BadWindow,
        `window center ${c} and width ${w}: both are needed and width must be at least 1`,
      );
    }
    return { center: c as number, width: w as number };
  }
  if (isUsable(frame.windowCenter, frame.windowWidth)) {
    return {
      center: frame.windowCenter as number,
      width: frame.windowWidth as number,
    };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of frame.stored) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max >= min)) return { center: 0.5, width: 1 };
  const { rescaleSlope: slope, rescaleIntercept: intercept } = frame;
  [min, max] = [min * slope + intercept, max * slope + intercept].sort(
    (a, b) => a - b,
  ) as [number, number];
  // With width max-min+1 the linear function maps min to 0 and max to
  // the top of the output range exactly.
  const width = max - min + 1;
  return { center: min + width / 2, width };
}
