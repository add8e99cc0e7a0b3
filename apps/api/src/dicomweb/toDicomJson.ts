import {
  Tag,
  findElement,
  isStringVr,
  readStrings,
  tagHex,
  valueBytes,
  wordSize,
} from '@lpacs/dicom';
import type { DicomElement, Encoding } from '@lpacs/dicom';

/** One attribute of the DICOM JSON model (PS3.18 F.2.2). */
export interface JsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

/** A data set in the DICOM JSON model, keyed by 8-digit tag. */
export type DicomJson = Record<string, JsonAttribute>;

/** What the converter needs besides the elements. */
export interface JsonSource {
  buffer: Buffer;
  encoding: Encoding;
  /** Where clients fetch the Pixel Data (PS3.18 F.2.7). */
  pixelDataUri?: string;
}

const NUMBER_STRINGS = new Set(['IS', 'DS']);

function binaryNumbers(buf: Buffer, enc: Encoding, el: DicomElement): number[] {
  const size = wordSize(el.vr);
  const out: number[] = [];
  const le = enc.littleEndian;
  for (
    let at = el.valueOffset;
    at + size <= el.valueOffset + el.length;
    at += size
  ) {
    switch (el.vr) {
      case 'US':
        out.push(le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
        break;
      case 'SS':
        out.push(le ? buf.readInt16LE(at) : buf.readInt16BE(at));
        break;
      case 'UL':
        out.push(le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
        break;
      case 'SL':
        out.push(le ? buf.readInt32LE(at) : buf.readInt32BE(at));
        break;
      case 'FL':
        out.push(le ? buf.readFloatLE(at) : buf.readFloatBE(at));
        break;
      case 'FD':
        out.push(le ? buf.readDoubleLE(at) : buf.readDoubleBE(at));
        break;
      case 'UV':
        out.push(
          Number(le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)),
        );
        break;
      case 'SV':
        out.push(Number(le ? buf.readBigInt64LE(at) : buf.readBigInt64BE(at)));
        break;
    }
  }
  return out;
}

/** AT values as 8 hex digits (PS3.18 F.2.3). */
function tags(buf: Buffer, enc: Encoding, el: DicomElement): string[] {
  const out: string[] = [];
  for (let at = el.valueOffset; at + 4 <= el.valueOffset + el.length; at += 4) {
    const g = enc.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    const e = enc.littleEndian
      ? buf.readUInt16LE(at + 2)
      : buf.readUInt16BE(at + 2);
    out.push(tagHex(((g << 16) | e) >>> 0));
  }
  return out;
}

/** PN components: Alphabetic=Ideographic=Phonetic (PS3.18 F.2.2). */
function personName(value: string): Record<string, string> | null {
  if (value === '') return null;
  const [alphabetic, ideographic, phonetic] = value.split('=');
  const out: Record<string, string> = {};
  if (alphabetic) out.Alphabetic = alphabetic;
  if (ideographic) out.Ideographic = ideographic;
  if (phonetic) out.Phonetic = phonetic;
  return out;
}

function stringValues(
  src: JsonSource,
  el: DicomElement,
  charsets: string[],
): unknown[] {
  const values = readStrings(src.buffer, el, charsets);
  if (el.vr === 'PN') return values.map(personName);
  if (NUMBER_STRINGS.has(el.vr)) {
    return values.map((v) =>
      v === '' || !Number.isFinite(Number(v)) ? null : Number(v),
    );
  }
  return values.map((v) => (v === '' ? null : v));
}

function attribute(
  src: JsonSource,
  el: DicomElement,
  charsets: string[],
): JsonAttribute {
  const out: JsonAttribute = { vr: el.vr };
  if (el.items) {
    out.Value = el.items.map((item) =>
      toDicomJson(
        { buffer: src.buffer, encoding: item.encoding },
        item.elements,
        charsets,
      ),
    );
    return out;
  }
  if (el.tag === Tag.PixelData) {
    if (src.pixelDataUri) out.BulkDataURI = src.pixelDataUri;
    return out;
  }
  if (el.length === 0 || el.fragments) return out;
  if (isStringVr(el.vr)) out.Value = stringValues(src, el, charsets);
  else if (el.vr === 'AT') out.Value = tags(src.buffer, src.encoding, el);
  else if (wordSize(el.vr) > 1 && !el.vr.startsWith('O'))
    out.Value = binaryNumbers(src.buffer, src.encoding, el);
  else out.InlineBinary = valueBytes(src.buffer, el).toString('base64');
  return out;
}

/**
 * A data set in the DICOM JSON model (PS3.18 F.2): strings decoded by
 * their character set, IS/DS as numbers, PN as component groups,
 * sequences nested, Pixel Data as a BulkDataURI and other binary values
 * inline in base64 (as stored: big-endian objects keep their byte order).
 */
export function toDicomJson(
  src: JsonSource,
  elements: readonly DicomElement[],
  inherited: string[] = [],
): DicomJson {
  const charsetElement = findElement(elements, Tag.SpecificCharacterSet);
  const charsets = charsetElement
    ? readStrings(src.buffer, charsetElement)
    : inherited;
  const out: DicomJson = {};
  for (const el of elements) {
    // Group lengths are deprecated and meaningless outside the encoding.
    if ((el.tag & 0xffff) === 0) continue;
    out[tagHex(el.tag)] = attribute(src, el, charsets);
  }
  return out;
}
