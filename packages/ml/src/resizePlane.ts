/**
 * Resizes one plane (row-major) with pixel centres aligned (PyTorch's
 * `align_corners=false`, OpenCV's INTER_LINEAR without anti-aliasing):
 * output pixel y samples input row (y + 0.5) * rows / outRows - 0.5,
 * clamped to the edges. A factor-2 bilinear shrink is then the mean of
 * each 2x2 block.
 * @param src - rows * columns values.
 * @returns outRows * outColumns values.
 */
export function resizePlane(
  src: Float32Array,
  rows: number,
  columns: number,
  outRows: number,
  outColumns: number,
  method: 'bilinear' | 'nearest',
): Float32Array {
  const out = new Float32Array(outRows * outColumns);
  if (rows === outRows && columns === outColumns) {
    out.set(src.subarray(0, out.length));
    return out;
  }
  const sy = rows / outRows;
  const sx = columns / outColumns;
  if (method === 'nearest') {
    for (let y = 0; y < outRows; y++) {
      const r = Math.min(rows - 1, Math.floor((y + 0.5) * sy));
      for (let x = 0; x < outColumns; x++) {
        const c = Math.min(columns - 1, Math.floor((x + 0.5) * sx));
        out[y * outColumns + x] = src[r * columns + c]!;
      }
    }
    return out;
  }
  const x0s = new Int32Array(outColumns);
  const x1s = new Int32Array(outColumns);
  const fxs = new Float32Array(outColumns);
  for (let x = 0; x < outColumns; x++) {
    const fx = Math.min(columns - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(columns - 1, x0s[x]! + 1);
    fxs[x] = fx - x0s[x]!;
  }
  for (let y = 0; y < outRows; y++) {
    const fy = Math.min(rows - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(rows - 1, y0 + 1);
    const wy = fy - y0;
    const a = y0 * columns;
    const b = y1 * columns;
    for (let x = 0; x < outColumns; x++) {
      const x0 = x0s[x]!;
      const x1 = x1s[x]!;
      const wx = fxs[x]!;
      const top = src[a + x0]! * (1 - wx) + src[a + x1]! * wx;
      const bottom = src[b + x0]! * (1 - wx) + src[b + x1]! * wx;
      out[y * outColumns + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
