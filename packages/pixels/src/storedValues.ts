import type { ImagePixel } from './ImagePixel';
import { PixelError, PixelErrorCode } from './PixelError';

/**
 * Stored values of one frame from its unencapsulated bytes, as Int32:
 * bits above High Bit masked off, signed values sign-extended from Bits
 * Stored (PS3.5 8.1.1), colour-by-plane made interleaved (PS3.3 C.7.6.3.1.3).
 * @param bytes the frame, `BitsAllocated` bits per sample
 * @param littleEndian byte order of 16- and 32-bit samples
 * @param planar true when samples are stored colour-by-plane
 */
export function storedValues(
  bytes: Uint8Array,
  image: ImagePixel,
  littleEndian: boolean,
  planar: boolean,
): Int32Array {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = image;
  const count = rows * columns * spp;
  const size = bitsAllocated / 8;
  if (![1, 2, 4].includes(size)) {
    throw new PixelError(
      PixelErrorCode.UnsupportedPixelFormat,
      `BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`,
    );
  }
  if (bytes.length < count * size) {
    throw new PixelError(
      PixelErrorCode.Undecodable,
      `frame has ${bytes.length} bytes, ${count * size} expected`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * size);
  const read =
    size === 1
      ? (i: number) => view.getUint8(i)
      : size === 2
        ? (i: number) => view.getUint16(i * 2, littleEndian)
        : (i: number) => view.getUint32(i * 4, littleEndian);
  const bits = image.bitsStored;
  const shift = image.highBit + 1 - bits;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const signBit = 2 ** (bits - 1);
  const signed = image.pixelRepresentation === 1;
  const out = new Int32Array(count);
  const pixels = rows * columns;
  for (let i = 0; i < count; i++) {
    // Planar: sample s of pixel p sits at s * pixels + p.
    const from = planar ? (i % spp) * pixels + Math.floor(i / spp) : i;
    let v = (read(from) >>> shift) & mask;
    if (bits >= 32) v = v >>> 0;
    if (signed && v >= signBit) v -= 2 * signBit;
    out[i] = v;
  }
  return out;
}
