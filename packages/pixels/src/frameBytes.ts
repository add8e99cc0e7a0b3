import { findElement, valueBytes } from '@lpacs/dicom';
import type { DataSet } from '@lpacs/dicom';
import type { ImagePixel } from './ImagePixel';
import { PixelError, PixelErrorCode } from './PixelError';

type Fragment = { offset: number; length: number };

const ExtendedOffsetTable = 0x7fe00001;

function concat(buf: Buffer, fragments: readonly Fragment[]): Uint8Array {
  if (fragments.length === 1 && fragments[0]) {
    const f = fragments[0];
    return buf.subarray(f.offset, f.offset + f.length);
  }
  return Buffer.concat(
    fragments.map((f) => buf.subarray(f.offset, f.offset + f.length)),
  );
}

/** Start offsets of frames, relative to the first fragment's item tag. */
function offsetTable(set: DataSet, bot: Fragment): number[] {
  const eot = findElement(set.elements, ExtendedOffsetTable);
  if (eot && eot.length >= 8) {
    const bytes = valueBytes(set.buffer, eot);
    const out: number[] = [];
    for (let at = 0; at + 8 <= bytes.length; at += 8)
      out.push(Number(bytes.readBigUInt64LE(at)));
    return out;
  }
  const out: number[] = [];
  for (let at = 0; at + 4 <= bot.length; at += 4)
    out.push(set.buffer.readUInt32LE(bot.offset + at));
  return out;
}

/** Fragments that open a new JPEG (SOI) or JPEG 2000 (SOC) codestream. */
function startsCodestream(buf: Buffer, f: Fragment): boolean {
  return (
    f.length >= 2 &&
    buf[f.offset] === 0xff &&
    (buf[f.offset + 1] === 0xd8 || buf[f.offset + 1] === 0x4f)
  );
}

/**
 * The encapsulated bytes of one frame (PS3.5 A.4): by the Basic or
 * Extended Offset Table when present, else all fragments for a single
 * frame, one fragment a frame, or codestream markers.
 */
function encapsulatedFrame(
  set: DataSet,
  image: ImagePixel,
  frame: number,
): Uint8Array {
  const [bot, ...fragments] = image.pixelData.fragments ?? [];
  if (!bot || fragments.length === 0) {
    throw new PixelError(
      PixelErrorCode.MissingPixelData,
      'encapsulated Pixel Data has no fragments',
    );
  }
  const buf = set.buffer;
  const starts = offsetTable(set, bot);
  let groups: Fragment[][];
  if (starts.length === image.numberOfFrames) {
    // Offsets count from the first byte of the first fragment's item tag.
    const base = (fragments[0]?.offset ?? 0) - 8;
    groups = starts.map((start, i) => {
      const end = starts[i + 1] ?? Infinity;
      return fragments.filter(
        (f) => f.offset - 8 - base >= start && f.offset - 8 - base < end,
      );
    });
  } else if (image.numberOfFrames === 1) {
    groups = [fragments];
  } else if (fragments.length === image.numberOfFrames) {
    groups = fragments.map((f) => [f]);
  } else {
    groups = [];
    for (const f of fragments) {
      const last = groups[groups.length - 1];
      if (!last || startsCodestream(buf, f)) groups.push([f]);
      else last.push(f);
    }
  }
  const group = groups[frame];
  if (!group || group.length === 0 || groups.length !== image.numberOfFrames) {
    throw new PixelError(
      PixelErrorCode.Undecodable,
      `cannot find frame ${frame} among ${fragments.length} fragments ` +
        `for ${image.numberOfFrames} frames`,
    );
  }
  return concat(buf, group);
}

/**
 * The bytes of frame `frame` (0-based): a slice of native Pixel Data or
 * the joined fragments of an encapsulated frame.
 */
export function frameBytes(
  set: DataSet,
  image: ImagePixel,
  frame: number,
): Uint8Array {
  if (image.pixelData.fragments) return encapsulatedFrame(set, image, frame);
  const { rows, columns, samplesPerPixel, bitsAllocated } = image;
  const size = (rows * columns * samplesPerPixel * bitsAllocated) / 8;
  if (!Number.isInteger(size)) {
    throw new PixelError(
      PixelErrorCode.UnsupportedPixelFormat,
      `BitsAllocated ${bitsAllocated} frames that do not end on a byte boundary are not supported`,
    );
  }
  const all = valueBytes(set.buffer, image.pixelData);
  if (all.length < size * (frame + 1)) {
    throw new PixelError(
      PixelErrorCode.Undecodable,
      `Pixel Data has ${all.length} bytes, too few for frame ${frame} ` +
        `of ${size} bytes`,
    );
  }
  return all.subarray(size * frame, size * (frame + 1));
}
