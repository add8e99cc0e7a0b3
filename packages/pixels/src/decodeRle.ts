import { PixelError, PixelErrorCode } from './PixelError';

/** What an RLE frame holds; the decoder needs no other attribute. */
export interface RleShape {
  pixels: number;
  samplesPerPixel: number;
  bytesPerSample: number;
}

function undecodable(message: string): PixelError {
  return new PixelError(PixelErrorCode.Undecodable, `RLE frame: ${message}`);
}

/** Unpacks one PackBits segment into every `stride`-th byte of `out`. */
function unpackSegment(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  first: number,
  stride: number,
  count: number,
): void {
  let at = start;
  let n = 0;
  while (n < count && at < end) {
    const header = ((src[at++] ?? 0) << 24) >> 24; // as signed byte
    if (header >= 0) {
      for (let i = 0; i <= header && n < count; i++, n++)
        out[first + n * stride] = src[at + i] ?? 0;
      at += header + 1;
    } else if (header !== -128) {
      const value = src[at++] ?? 0;
      for (let i = 0; i < 1 - header && n < count; i++, n++)
        out[first + n * stride] = value;
    }
  }
  if (n < count) {
    throw undecodable(`a segment ends after ${n} of ${count} bytes`);
  }
}

/**
 * Decodes one RLE Lossless frame (PS3.5 Annex G) to interleaved
 * little-endian samples: segment `s * bytesPerSample + k` holds byte `k`
 * (most significant first) of sample `s` of every pixel (G.2).
 */
export function decodeRle(frame: Uint8Array, shape: RleShape): Uint8Array {
  const { pixels, samplesPerPixel: spp, bytesPerSample: size } = shape;
  if (frame.length < 64) throw undecodable('shorter than its 64-byte header');
  const header = new DataView(frame.buffer, frame.byteOffset, 64);
  const segments = header.getUint32(0, true);
  if (segments !== spp * size) {
    throw undecodable(`${segments} segments where ${spp * size} are expected`);
  }
  const out = new Uint8Array(pixels * spp * size);
  for (let seg = 0; seg < segments; seg++) {
    const start = header.getUint32(4 + seg * 4, true);
    const end =
      seg + 1 < segments ? header.getUint32(8 + seg * 4, true) : frame.length;
    if (start < 64 || start > end || end > frame.length) {
      throw undecodable(`segment ${seg} has a bad offset ${start}`);
    }
    const sample = Math.floor(seg / size);
    const byte = size - 1 - (seg % size); // little-endian position
    const first = sample * size + byte;
    unpackSegment(frame, start, end, out, first, spp * size, pixels);
  }
  return out;
}
