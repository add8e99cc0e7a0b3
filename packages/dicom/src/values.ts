import { decodeText } from './charset';
import type { DataSet, DicomElement, Encoding } from './types';
import { isStringVr } from './vr';

/** The value bytes of an element (a view, not a copy). */
export function valueBytes(buf: Buffer, el: DicomElement): Buffer {
  return buf.subarray(el.valueOffset, el.valueOffset + el.length);
}

/** The first element with this tag in a list, or undefined. */
export function findElement(
  elements: readonly DicomElement[],
  tag: number,
): DicomElement | undefined {
  for (const el of elements) {
    if (el.tag === tag) return el;
    if (el.tag > tag) return undefined; // data sets are sorted (PS3.5 7.1)
  }
  return undefined;
}

/** A value without its padding: trailing NULs and spaces, leading spaces. */
export function trimValue(value: string): string {
  let end = value.length;
  while (end > 0) {
    const c = value.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0) break;
    end--;
  }
  let start = 0;
  while (start < end && value.charCodeAt(start) === 0x20) start++;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * The values of a string element, decoded by its character set, split on
 * backslash (PS3.5 6.4) and stripped of padding. Empty when absent.
 */
export function readStrings(
  buf: Buffer,
  el: DicomElement | undefined,
  charsets: string[] = [],
): string[] {
  if (!el || el.length === 0 || el.items || el.fragments) return [];
  const bytes = valueBytes(buf, el);
  const text =
    el.vr === 'UI' || !isStringVr(el.vr)
      ? bytes.toString('latin1')
      : decodeText(bytes, charsets);
  // PS3.5 6.2: UT, ST, LT, UR hold one value and may contain backslashes.
  const parts =
    el.vr === 'UT' || el.vr === 'ST' || el.vr === 'LT' || el.vr === 'UR'
      ? [text]
      : text.split('\\');
  return parts.map(trimValue);
}

/** The first value of a string element, or undefined when absent or empty. */
export function readString(
  buf: Buffer,
  el: DicomElement | undefined,
  charsets: string[] = [],
): string | undefined {
  const value = readStrings(buf, el, charsets)[0];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The first value of a top-level string element of a data set (file meta
 * or body), or undefined when absent or empty.
 */
export function topString(
  set: DataSet,
  tag: number,
  charsets: string[] = [],
): string | undefined {
  return readString(set.buffer, findElement(set.elements, tag), charsets);
}

/** The first numeric value of a binary or IS/DS element. */
export function readNumber(
  buf: Buffer,
  enc: Encoding,
  el: DicomElement | undefined,
): number | undefined {
  if (!el || el.length === 0) return undefined;
  const at = el.valueOffset;
  const le = enc.littleEndian;
  switch (el.vr) {
    case 'US':
      return el.length >= 2
        ? le
          ? buf.readUInt16LE(at)
          : buf.readUInt16BE(at)
        : undefined;
    case 'SS':
      return el.length >= 2
        ? le
          ? buf.readInt16LE(at)
          : buf.readInt16BE(at)
        : undefined;
    case 'UL':
      return el.length >= 4
        ? le
          ? buf.readUInt32LE(at)
          : buf.readUInt32BE(at)
        : undefined;
    case 'SL':
      return el.length >= 4
        ? le
          ? buf.readInt32LE(at)
          : buf.readInt32BE(at)
        : undefined;
    case 'FL':
      return el.length >= 4
        ? le
          ? buf.readFloatLE(at)
          : buf.readFloatBE(at)
        : undefined;
    case 'FD':
      return el.length >= 8
        ? le
          ? buf.readDoubleLE(at)
          : buf.readDoubleBE(at)
        : undefined;
    case 'IS':
    case 'DS': {
      const n = Number(readString(buf, el));
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

/** All numeric values of a DS/IS element (e.g. PixelSpacing). */
export function readDecimals(
  buf: Buffer,
  el: DicomElement | undefined,
): number[] {
  return readStrings(buf, el)
    .map(Number)
    .filter((n) => Number.isFinite(n));
}
