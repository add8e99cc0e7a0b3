import { MlError, MlErrorCode } from './MlError';
import { resizePlane } from './resizePlane';
import type { DecodedFrame, Preprocessing, WindowSpec } from './types';

function windowOf(frame: DecodedFrame, pre: Preprocessing): WindowSpec | null {
  if (pre.window === undefined) return null;
  if (pre.window !== 'dicom') return pre.window;
  const { windowCenter: center, windowWidth: width } = frame;
  if (center === undefined || width === undefined || !(width > 0))
    throw new MlError(
      MlErrorCode.BadInput,
      "the manifest asks for the object's window, and it has no WindowCenter/WindowWidth",
    );
  return { center, width };
}

/** Splits interleaved samples into planes, windowed to [0, 1] if asked. */
function planes(frame: DecodedFrame, pre: Preprocessing): Float32Array[] {
  const { rows, columns, samplesPerPixel: spp } = frame;
  const n = rows * columns;
  const source = pre.rescale ? frame.modality : frame.stored;
  if (source.length < n * spp)
    throw new MlError(
      MlErrorCode.BadInput,
      `frame holds ${source.length} values; ${rows}x${columns}x${spp} needs ${n * spp}`,
    );
  const w = windowOf(frame, pre);
  const lower = w ? w.center - w.width / 2 : 0;
  const width = w ? w.width : 1;
  // MONOCHROME1 shows low values white: invert so bright means dense.
  const invert =
    w !== null && frame.photometricInterpretation === 'MONOCHROME1';
  const out = Array.from({ length: spp }, () => new Float32Array(n));
  for (let s = 0; s < spp; s++) {
    const plane = out[s]!;
    for (let i = 0; i < n; i++) {
      let v = source[i * spp + s]!;
      if (w) {
        v = (v - lower) / width;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        if (invert) v = 1 - v;
      }
      plane[i] = v;
    }
  }
  return out;
}

/**
 * Turns a decoded frame into one input tensor's values (no batch axis) as
 * the manifest describes: modality or stored values, window to [0, 1],
 * resize, normalise, channel layout. A grey frame feeds a 3-channel model
 * by repeating it.
 * @param channels - the model's channel count (1 or 3).
 * @returns channels * rows * columns values in the manifest's layout.
 * @throws MlError BAD_INPUT when the frame cannot fit the model.
 */
export function preprocessFrame(
  frame: DecodedFrame,
  pre: Preprocessing,
  channels: number,
): Float32Array {
  const spp = frame.samplesPerPixel;
  if (spp !== channels && !(spp === 1 && channels === 3))
    throw new MlError(
      MlErrorCode.BadInput,
      `frame has ${spp} samples per pixel; the model takes ${channels} channels`,
    );
  if (frame.rows < 1 || frame.columns < 1)
    throw new MlError(
      MlErrorCode.BadInput,
      `frame is ${frame.rows}x${frame.columns}`,
    );
  const { rows, columns, method } = pre.resize;
  const resized = planes(frame, pre).map((p) =>
    resizePlane(p, frame.rows, frame.columns, rows, columns, method),
  );
  const n = rows * columns;
  const out = new Float32Array(channels * n);
  const { mean, std } = pre.normalize;
  for (let c = 0; c < channels; c++) {
    const plane = resized[spp === 1 ? 0 : c]!;
    const m = mean[mean.length === 1 ? 0 : c]!;
    const s = std[std.length === 1 ? 0 : c]!;
    // The layout test out of the per-pixel loop: this is the job's
    // hottest loop on the main thread (channels * rows * columns values).
    if (pre.layout === 'NCHW') {
      const base = c * n;
      for (let i = 0; i < n; i++) out[base + i] = (plane[i]! - m) / s;
    } else
      for (let i = 0; i < n; i++) out[i * channels + c] = (plane[i]! - m) / s;
  }
  return out;
}
