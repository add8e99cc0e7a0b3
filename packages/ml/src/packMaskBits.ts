/**
 * Resamples masks (nearest) to a new grid and packs them one bit a pixel,
 * least significant bit first, frames back to back, padded to an even
 * length: pixel data with BitsAllocated 1 (PS3.5 8.1.1, PS3.3 C.8.20.2).
 * @param mask - `frames` planes of rows * columns, non-zero = set.
 */
export function packMaskBits(
  mask: Uint8Array,
  frames: number,
  rows: number,
  columns: number,
  outRows: number,
  outColumns: number,
): Buffer {
  const bits = frames * outRows * outColumns;
  const bytes = Math.ceil(bits / 8);
  const out = Buffer.alloc(bytes + (bytes % 2));
  let k = 0;
  for (let f = 0; f < frames; f++)
    for (let r = 0; r < outRows; r++) {
      const mr = Math.min(rows - 1, Math.floor(((r + 0.5) * rows) / outRows));
      for (let c = 0; c < outColumns; c++, k++) {
        const mc = Math.min(
          columns - 1,
          Math.floor(((c + 0.5) * columns) / outColumns),
        );
        if (mask[(f * rows + mr) * columns + mc]) out[k >> 3]! |= 1 << (k & 7);
      }
    }
  return out;
}
