import {
  findElement,
  parseDicom,
  readNumber,
  readString,
  valueBytes,
} from '@lpacs/dicom';
import type { DicomItem, Encoding } from '@lpacs/dicom';

/** Segmentation Storage (PS3.4 B.5). */
const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

const t = (group: number, element: number) => ((group << 16) | element) >>> 0;
const PER_FRAME = t(0x5200, 0x9230);
const DERIVATION_IMAGE = t(0x0008, 0x9124);
const SOURCE_IMAGE = t(0x0008, 0x2112);
const REFERENCED_SOP = t(0x0008, 0x1155);
const REFERENCED_FRAME = t(0x0008, 0x1160);
const SEGMENT_IDENTIFICATION = t(0x0062, 0x000a);
const REFERENCED_SEGMENT = t(0x0062, 0x000b);

/** One image frame's mask, read out of a SEG object. */
export interface FrameMask {
  rows: number;
  columns: number;
  /** rows * columns bytes: the lowest segment number covering a pixel, 0 for none. */
  segments: Uint8Array;
  /** The segment numbers that cover this image frame (some may be empty). */
  numbers: number[];
}

function items(
  list: readonly DicomItem[] | undefined,
  tag: number,
): DicomItem[] {
  const out: DicomItem[] = [];
  for (const item of list ?? [])
    out.push(...(findElement(item.elements, tag)?.items ?? []));
  return out;
}

/** Whether a Source Image Sequence item names this SOP instance and frame. */
function references(
  buf: Buffer,
  item: DicomItem,
  sop: string,
  frame: number,
): boolean {
  if (readString(buf, findElement(item.elements, REFERENCED_SOP)) !== sop)
    return false;
  // PS3.3 C.7.6.1.1.3: no Referenced Frame Number means the whole
  // (single-frame) instance.
  const el = findElement(item.elements, REFERENCED_FRAME);
  if (!el) return frame === 1;
  return (readString(buf, el) ?? '')
    .split('\\')
    .some((n) => Number(n) === frame);
}

function segmentOf(buf: Buffer, enc: Encoding, item: DicomItem): number {
  const [id] = items([item], SEGMENT_IDENTIFICATION);
  const n = readNumber(
    buf,
    id?.encoding ?? enc,
    id && findElement(id.elements, REFERENCED_SEGMENT),
  );
  return n ?? 0;
}

/**
 * The mask a BINARY DICOM Segmentation (PS3.3 A.51) holds over one frame
 * of a source image: the SEG frames whose Derivation Image Sequence names
 * that SOP instance (and frame) in the per-frame functional groups, each
 * drawn with its Referenced Segment Number. Pixel data of BitsAllocated 1
 * is read bit by bit, least significant first, frames back to back
 * (PS3.5 8.1.1).
 * @returns undefined when the object is not a BINARY segmentation or no
 * SEG frame references that image frame.
 */
export function segmentationMask(
  seg: Buffer,
  sop: string,
  frame: number,
): FrameMask | undefined {
  const { body } = parseDicom(seg);
  const buf = body.buffer;
  const find = (tag: number) => findElement(body.elements, tag);
  const num = (tag: number) => readNumber(buf, body.encoding, find(tag));
  if (readString(buf, find(t(0x0008, 0x0016))) !== SEGMENTATION_STORAGE)
    return undefined;
  if (readString(buf, find(t(0x0062, 0x0001))) !== 'BINARY') return undefined;
  const rows = num(t(0x0028, 0x0010)) ?? 0;
  const columns = num(t(0x0028, 0x0011)) ?? 0;
  const pixelData = find(t(0x7fe0, 0x0010));
  if (!rows || !columns || !pixelData || num(t(0x0028, 0x0100)) !== 1)
    return undefined;
  const bits = valueBytes(buf, pixelData);
  const plane = rows * columns;
  const segments = new Uint8Array(plane);
  const numbers: number[] = [];
  const perFrame = find(PER_FRAME)?.items ?? [];
  perFrame.forEach((item, i) => {
    const sources = items(items([item], DERIVATION_IMAGE), SOURCE_IMAGE);
    if (!sources.some((s) => references(buf, s, sop, frame))) return;
    const segment = segmentOf(buf, body.encoding, item);
    if (segment < 1 || segment > 255) return;
    numbers.push(segment);
    const first = i * plane;
    for (let p = 0; p < plane; p++) {
      const k = first + p;
      const set = ((bits[k >> 3] ?? 0) >> (k & 7)) & 1;
      const old = segments[p]!;
      if (set && (old === 0 || segment < old)) segments[p] = segment;
    }
  });
  return numbers.length ? { rows, columns, segments, numbers } : undefined;
}
