import {
  Tag,
  findElement,
  keywordOf,
  parseDicom,
  plainAscii,
  readString,
  isStringVr,
  readStrings,
  tagHex,
  trimValue,
  isNumberVr,
} from '@lpacs/dicom';
import type { DicomElement, DicomFile, Encoding } from '@lpacs/dicom';
import {
  FIELD_SEPARATOR,
  ROW_SEPARATOR,
  packedField,
  unpackAttributes,
} from '@lpacs/lake';
import type { PackedAttributes, Row } from '@lpacs/lake';

/** Values longer than this are bulk data, not attributes to query. */
const MAX_VALUE_BYTES = 1024;

/** Characters of a value kept in the table. */
const MAX_VALUE_CHARS = 256;

/** VRs of bulk data (PS3.5 6.2): pixels, curves, waveforms, unknown. */
const BULK_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** Binary numbers: bytes per value and how to read one. */
const BINARY: Readonly<
  Record<string, [number, (b: Buffer, at: number, le: boolean) => string]>
> = {
  US: [2, (b, at, le) => String(le ? b.readUInt16LE(at) : b.readUInt16BE(at))],
  SS: [2, (b, at, le) => String(le ? b.readInt16LE(at) : b.readInt16BE(at))],
  UL: [4, (b, at, le) => String(le ? b.readUInt32LE(at) : b.readUInt32BE(at))],
  SL: [4, (b, at, le) => String(le ? b.readInt32LE(at) : b.readInt32BE(at))],
  FL: [4, (b, at, le) => float32(le ? b.readFloatLE(at) : b.readFloatBE(at))],
  FD: [8, (b, at, le) => String(le ? b.readDoubleLE(at) : b.readDoubleBE(at))],
  SV: [
    8,
    (b, at, le) => String(le ? b.readBigInt64LE(at) : b.readBigInt64BE(at)),
  ],
  UV: [
    8,
    (b, at, le) => String(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)),
  ],
  AT: [4, (b, at, le) => attributeTag(b, at, le)],
};

/** The shortest decimal that reads back as the same 32-bit float. */
function float32(value: number): string {
  for (let digits = 1; digits < 9; digits++) {
    const text = String(Number(value.toPrecision(digits)));
    if (Math.fround(Number(text)) === value) return text;
  }
  return String(value);
}

/** An AT value (PS3.5 6.2): group then element, each 16 bits. */
function attributeTag(b: Buffer, at: number, le: boolean): string {
  const read = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  return tagHex(((read(at) << 16) | read(at + 2)) >>> 0);
}

/** Dictionary look-ups repeat for every instance: keep them. */
const keywords = new Map<number, string | null>();

function keyword(tag: number): string | null {
  let k = keywords.get(tag);
  if (k === undefined) {
    k = keywordOf(tag) ?? null;
    keywords.set(tag, k);
  }
  return k;
}

/** VRs holding one value that may contain backslashes (PS3.5 6.2). */
const SINGLE_VALUE_VRS = new Set(['UT', 'ST', 'LT', 'UR']);

/**
 * The text of a string element without copying its bytes when they are
 * plain ASCII (most are): its values trimmed as readStrings trims them.
 */
function stringText(buf: Buffer, el: DicomElement, charsets: string[]): string {
  const start = el.valueOffset;
  const end = start + el.length;
  if (!plainAscii(buf, start, end))
    return readStrings(buf, el, charsets).join('\\');
  const text = buf.toString('latin1', start, end);
  if (SINGLE_VALUE_VRS.has(el.vr) || !text.includes('\\'))
    return trimValue(text);
  return text.split('\\').map(trimValue).join('\\');
}

/** The text of an element's values, joined with `\`; undefined if empty. */
function valueText(
  buf: Buffer,
  enc: Encoding,
  el: DicomElement,
  charsets: string[],
): string | undefined {
  const binary = BINARY[el.vr];
  if (!binary) {
    if (el.length === 0) return undefined;
    const text = isStringVr(el.vr)
      ? stringText(buf, el, charsets)
      : readStrings(buf, el, charsets).join('\\');
    return text === '' ? undefined : text;
  }
  const [size, read] = binary;
  const parts: string[] = [];
  for (let at = 0; at + size <= el.length; at += size)
    parts.push(read(buf, el.valueOffset + at, enc.littleEndian));
  return parts.length ? parts.join('\\') : undefined;
}

/** The start of an element's packed rows: tag, keyword and VR, by tag. */
const heads = new Map<number, { vr: string; head: string }>();

function headOf(tag: number, vr: string): string {
  let known = heads.get(tag);
  if (!known || known.vr !== vr) {
    known = {
      vr,
      head: [tagHex(tag), keyword(tag) ?? '', vr, ''].join(FIELD_SEPARATOR),
    };
    if (heads.size >= 65536) heads.clear(); // private tags of crafted files
    heads.set(tag, known);
  }
  return known.head;
}

interface Walk {
  buf: Buffer;
  rows: string[];
}

function walk(
  w: Walk,
  elements: readonly DicomElement[],
  enc: Encoding,
  inherited: string[],
  prefix: string,
): void {
  // An item may declare its own character set (PS3.5 6.1.2.5.4).
  const own = findElement(elements, Tag.SpecificCharacterSet);
  const charsets = own ? readStrings(w.buf, own) : inherited;
  for (const el of elements) {
    // Group lengths (PS3.5 7.2) say nothing about the instance.
    if ((el.tag & 0xffff) === 0 || el.tag === Tag.PixelData) continue;
    if (BULK_VRS.has(el.vr) || el.fragments) continue;
    if (!el.items && el.length > MAX_VALUE_BYTES) continue;
    const head = headOf(el.tag, el.vr);
    const path = prefix ? `${prefix}${tagHex(el.tag)}` : '';
    const text = el.items ? undefined : valueText(w.buf, enc, el, charsets);
    const number =
      text !== undefined && isNumberVr(el.vr) && !text.includes('\\')
        ? Number(text)
        : NaN;
    w.rows.push(
      head +
        path +
        FIELD_SEPARATOR +
        packedField(text?.slice(0, MAX_VALUE_CHARS)) +
        FIELD_SEPARATOR +
        (Number.isFinite(number) ? String(number) : ''),
    );
    el.items?.forEach((item, i) =>
      walk(
        w,
        item.elements,
        item.encoding,
        charsets,
        `${prefix}${tagHex(el.tag)}[${i}].`,
      ),
    );
  }
}

/**
 * The `attributes` rows of a de-identified object, packed (see
 * packedAttributes in @lpacs/lake): one per data element, items of
 * sequences included, read back from the stored bytes so the table holds
 * nothing the object does not. Bulk data (pixels, OB/OW/UN values,
 * anything over 1 KB) and group lengths are left out.
 */
export function instanceAttributes(file: DicomFile): PackedAttributes {
  const { buffer: buf, encoding: enc, elements } = file.body;
  const charsets = readStrings(
    buf,
    findElement(elements, Tag.SpecificCharacterSet),
  );
  const w: Walk = { buf, rows: [] };
  walk(w, elements, enc, charsets, '');
  return {
    SOPInstanceUID:
      readString(buf, findElement(elements, Tag.SOPInstanceUID)) ?? null,
    PatientID:
      readString(buf, findElement(elements, Tag.PatientID), charsets) ?? null,
    rows: w.rows.join(ROW_SEPARATOR),
  };
}

/** The `attributes` rows of a de-identified object (see instanceAttributes). */
export function attributeRows(bytes: Buffer): Row[] {
  return unpackAttributes(instanceAttributes(parseDicom(bytes)));
}
