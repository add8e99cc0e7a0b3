import { constants, inflateRawSync } from 'node:zlib';
import { implicitVr } from './dictionary';
import { DicomError, DicomErrorCode } from './errors';
import { Tag, isPrivateTag, tagString } from './tags';
import {
  EXPLICIT_LE,
  IMPLICIT_LE,
  TransferSyntax,
  encodingOf,
} from './transferSyntax';
import type {
  DataSet,
  DicomElement,
  DicomFile,
  DicomItem,
  Encoding,
} from './types';
import { hasLongLength, isKnownVr } from './vr';

const UNDEFINED = 0xffffffff;
/** Deeper nesting than any real IOD; guards the stack against crafted files. */
const MAX_DEPTH = 64;

function u16(buf: Buffer, enc: Encoding, at: number): number {
  return enc.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}

function u32(buf: Buffer, enc: Encoding, at: number): number {
  return enc.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

function readTag(buf: Buffer, enc: Encoding, at: number): number {
  return ((u16(buf, enc, at) << 16) | u16(buf, enc, at + 2)) >>> 0;
}

function truncated(what: string, at: number): DicomError {
  return new DicomError(
    DicomErrorCode.Truncated,
    `file ends inside ${what} at byte ${at}`,
  );
}

/** Checks bounds; `what` is only formatted when the check fails (hot path). */
function need(
  buf: Buffer,
  at: number,
  bytes: number,
  what: string | (() => string),
): void {
  if (at + bytes > buf.length) {
    throw truncated(typeof what === 'string' ? what : what(), at);
  }
}

/**
 * The elements from `at` to the end of the sequence (`limit`), or
 * undefined when they do not parse to exactly that end.
 */
function itemToSequenceEnd(
  buf: Buffer,
  enc: Encoding,
  at: number,
  limit: number,
  depth: number,
): ReturnType<typeof parseElements> | undefined {
  if (limit > buf.length) return undefined;
  try {
    const read = parseElements(buf, enc, at, limit, depth, false);
    return read.next === limit ? read : undefined;
  } catch {
    return undefined;
  }
}

/** Items of a sequence, defined length (`limit`) or up to its delimiter. */
function parseItems(
  buf: Buffer,
  enc: Encoding,
  at: number,
  limit: number | undefined,
  depth: number,
  owner: number,
): { items: DicomItem[]; end: number } {
  const items: DicomItem[] = [];
  const bound = limit ?? buf.length;
  while (limit === undefined || at < limit) {
    need(buf, at, 8, () => `sequence ${tagString(owner)}`);
    const tag = readTag(buf, enc, at);
    if (tag === Tag.SequenceDelimitationItem) return { items, end: at + 8 };
    if (tag !== Tag.Item) {
      throw new DicomError(
        DicomErrorCode.Malformed,
        `sequence ${tagString(owner)} holds ${tagString(tag)} at byte ${at} where an item was expected`,
      );
    }
    const length = u32(buf, enc, at + 4);
    const start = at;
    at += 8;
    let read: ReturnType<typeof parseElements>;
    if (length === UNDEFINED) {
      read = parseElements(buf, enc, at, bound, depth, true);
      at = read.next;
    } else if (limit !== undefined && at + length > limit) {
      // The item says it runs past the end of its defined-length sequence:
      // a writer that removed elements from the last item updated the
      // sequence's length but not the item's (pydicom's DICOMDIR-nooffset).
      // The sequence's length is the outer frame, so the item is read up
      // to it when its elements end exactly there, as dcmdump reads it;
      // anything else is the error it was.
      const whole = itemToSequenceEnd(buf, enc, at, limit, depth);
      if (!whole) {
        need(buf, at, length, () => `an item of ${tagString(owner)}`);
        throw new DicomError(
          DicomErrorCode.Malformed,
          `an item of ${tagString(owner)} at byte ${start} overruns its sequence`,
        );
      }
      read = whole;
      at = limit;
    } else {
      need(buf, at, length, () => `an item of ${tagString(owner)}`);
      read = parseElements(buf, enc, at, at + length, depth, false);
      at += length;
    }
    items.push({
      start,
      end: at,
      encoding: enc,
      elements: read.elements,
      ...(read.unordered && { unordered: true }),
    });
  }
  if (limit !== undefined && at !== limit) {
    throw new DicomError(
      DicomErrorCode.Malformed,
      `items of ${tagString(owner)} overrun its length at byte ${at}`,
    );
  }
  return { items, end: at };
}

/** Fragments of encapsulated pixel data up to the sequence delimiter. */
function parseFragments(buf: Buffer, enc: Encoding, at: number) {
  const fragments: Array<{ offset: number; length: number }> = [];
  for (;;) {
    need(buf, at, 8, 'encapsulated pixel data');
    const tag = readTag(buf, enc, at);
    const length = u32(buf, enc, at + 4);
    if (tag === Tag.SequenceDelimitationItem) return { fragments, end: at + 8 };
    if (tag !== Tag.Item) {
      throw new DicomError(
        DicomErrorCode.Malformed,
        `encapsulated pixel data holds ${tagString(tag)} at byte ${at}`,
      );
    }
    need(buf, at + 8, length, 'a pixel data fragment');
    fragments.push({ offset: at + 8, length });
    at += 8 + length;
  }
}

function parseElement(
  buf: Buffer,
  enc: Encoding,
  start: number,
  depth: number,
): DicomElement {
  need(buf, start, 8, 'an element header');
  const tag = readTag(buf, enc, start);
  let vr: string;
  let length: number;
  let valueOffset: number;
  if (enc.explicitVR) {
    vr = buf.toString('latin1', start + 4, start + 6);
    if (!isKnownVr(vr)) {
      throw new DicomError(
        DicomErrorCode.Malformed,
        `element ${tagString(tag)} at byte ${start} has no valid VR`,
      );
    }
    if (hasLongLength(vr)) {
      need(buf, start, 12, 'an element header');
      length = u32(buf, enc, start + 8);
      valueOffset = start + 12;
    } else {
      length = u16(buf, enc, start + 6);
      valueOffset = start + 8;
    }
  } else {
    vr = implicitVr(tag);
    length = u32(buf, enc, start + 4);
    valueOffset = start + 8;
  }
  const el: DicomElement = {
    tag,
    vr,
    start,
    valueOffset,
    length,
    undefinedLength: length === UNDEFINED,
    end: valueOffset,
  };
  if (depth > MAX_DEPTH) {
    throw new DicomError(
      DicomErrorCode.Malformed,
      `sequences nested deeper than ${MAX_DEPTH} at byte ${start}`,
    );
  }
  if (length === UNDEFINED) {
    if (tag === Tag.PixelData || vr === 'OB' || vr === 'OW') {
      const { fragments, end } = parseFragments(buf, enc, valueOffset);
      Object.assign(el, { fragments, end, length: end - valueOffset });
      return el;
    }
    // Undefined length means a sequence; UN ones are implicit VR LE (PS3.5 6.2.2).
    const itemEnc = vr === 'UN' ? IMPLICIT_LE : enc;
    if (vr === 'UN' || !enc.explicitVR) el.vr = 'SQ';
    const { items, end } = parseItems(
      buf,
      itemEnc,
      valueOffset,
      undefined,
      depth + 1,
      tag,
    );
    Object.assign(el, { items, end, length: end - valueOffset });
    return el;
  }
  need(buf, valueOffset, length, () => `the value of ${tagString(tag)}`);
  el.end = valueOffset + length;
  if (vr === 'UN' && !isPrivateTag(tag)) {
    // A standard attribute sent as UN is read with its dictionary VR, its
    // value being implicit VR LE (PS3.5 6.2.2): otherwise UIDs and nested
    // sequences would escape their de-identification rules.
    const known = implicitVr(tag);
    if (known === 'SQ') {
      el.vr = 'SQ';
      el.items = parseItems(
        buf,
        IMPLICIT_LE,
        valueOffset,
        el.end,
        depth + 1,
        tag,
      ).items;
      return el;
    }
    if (known !== 'UN') el.vr = known;
  }
  if (vr === 'SQ') {
    el.items = parseItems(buf, enc, valueOffset, el.end, depth + 1, tag).items;
  }
  return el;
}

function isZeroFrom(buf: Buffer, at: number, limit: number): boolean {
  for (let i = at; i < limit; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Elements from `at` to `limit`, or to an item delimiter when asked. */
function parseElements(
  buf: Buffer,
  enc: Encoding,
  at: number,
  limit: number,
  depth: number,
  untilDelimiter: boolean,
): { elements: DicomElement[]; next: number; unordered?: true } {
  const elements: DicomElement[] = [];
  let unordered = false;
  const done = (next: number) =>
    unordered
      ? { elements: inTagOrder(elements), next, unordered: true as const }
      : { elements, next };
  while (at < limit) {
    if (depth === 0 && buf[at] === 0 && isZeroFrom(buf, at, limit)) {
      return done(at); // trailing zero padding after the data set
    }
    need(buf, at, 4, 'an element tag');
    const tag = readTag(buf, enc, at);
    if (tag === Tag.ItemDelimitationItem) {
      if (untilDelimiter) return done(at + 8);
      throw new DicomError(
        DicomErrorCode.Malformed,
        `item delimiter outside an item at byte ${at}`,
      );
    }
    const el = parseElement(buf, enc, at, depth);
    const last = elements[elements.length - 1];
    if (last && last.tag >= el.tag) unordered = true;
    elements.push(el);
    at = el.end;
  }
  if (untilDelimiter) throw truncated('an item without its delimiter', at);
  return done(at);
}

/**
 * Elements read out of ascending tag order or more than once (PS3.5 7.1
 * forbids both), sorted by tag, stably: of a tag found twice the first
 * read comes first, and findElement, which stops at a higher tag, finds
 * every element and the first of twins.
 */
function inTagOrder(elements: DicomElement[]): DicomElement[] {
  return elements
    .map((el, i) => ({ el, i }))
    .sort((a, b) => a.el.tag - b.el.tag || a.i - b.i)
    .map((e) => e.el);
}

/** True when byte 0 starts a plausible element (files without preamble). */
function looksLikeDataSet(buf: Buffer): boolean {
  if (buf.length < 8) return false;
  const group = buf.readUInt16LE(0);
  return group === 0x0002 || group === 0x0008 || group === 0x0010;
}

function isTruncation(err: unknown): boolean {
  return err instanceof DicomError && err.code === DicomErrorCode.Truncated;
}

function readMeta(
  buf: Buffer,
  at: number,
  leading: boolean,
): { meta: DicomElement[]; next: number } {
  const meta: DicomElement[] = [];
  // Some writers put the meta group in implicit VR; PS3.10 says explicit.
  const vrBytes = buf.toString('latin1', at + 4, at + 6);
  const enc = isKnownVr(vrBytes) ? EXPLICIT_LE : IMPLICIT_LE;
  try {
    while (at + 8 <= buf.length && buf.readUInt16LE(at) === 0x0002) {
      const el = parseElement(buf, enc, at, 0);
      meta.push(el);
      at = el.end;
    }
  } catch (err) {
    if (!leading || !isTruncation(err)) throw err;
    return { meta, next: buf.length };
  }
  return { meta, next: at };
}

/**
 * The top-level elements before the data set is cut short: each one read
 * whole, nothing of the element the bytes end in.
 */
function leadingElements(
  buf: Buffer,
  enc: Encoding,
  at: number,
): { elements: DicomElement[]; next: number; cutAt?: number } {
  const elements: DicomElement[] = [];
  try {
    while (at < buf.length) {
      if (buf[at] === 0 && isZeroFrom(buf, at, buf.length)) break;
      need(buf, at, 4, 'an element tag');
      const el = parseElement(buf, enc, at, 0);
      elements.push(el);
      at = el.end;
    }
  } catch (err) {
    if (!isTruncation(err)) throw err;
    return { elements, next: buf.length, cutAt: at };
  }
  return { elements, next: at };
}

function stringValue(buf: Buffer, el: DicomElement | undefined): string {
  if (!el) return '';
  return buf
    .toString('latin1', el.valueOffset, el.valueOffset + el.length)
    .replace(/[\0 ]+$/, '');
}

/** Guesses the syntax of a data set that came without file meta. */
function guessTransferSyntax(buf: Buffer, at: number): string {
  const vr = buf.toString('latin1', at + 4, at + 6);
  return isKnownVr(vr)
    ? TransferSyntax.ExplicitVRLittleEndian
    : TransferSyntax.ImplicitVRLittleEndian;
}

/**
 * Parses a DICOM file (PS3.10) without copying values: elements point into
 * the input (or, for the deflated syntax, into the inflated data set).
 * @throws DicomError with a code and a message that names offsets, not values.
 */
export function parseDicom(input: Buffer): DicomFile {
  return parseFile(input, false);
}

/**
 * Reads what it can of a file that may be cut short (a truncated
 * transfer): the file meta and the top-level elements before the cut,
 * each whole, with a warning naming the byte it stopped at. For naming a
 * damaged file (its SOP Instance UID comes long before its pixel data),
 * never for storing it: what follows the cut is simply missing.
 * @throws DicomError NOT_DICOM, or MALFORMED for bytes that are wrong
 * rather than missing.
 */
export function parseDicomLeading(input: Buffer): DicomFile {
  return parseFile(input, true);
}

function parseFile(input: Buffer, leading: boolean): DicomFile {
  let at: number;
  let hasPreamble: boolean;
  if (input.length >= 132 && input.toString('latin1', 128, 132) === 'DICM') {
    at = 132;
    hasPreamble = true;
  } else if (looksLikeDataSet(input)) {
    at = 0;
    hasPreamble = false;
  } else {
    throw new DicomError(
      DicomErrorCode.NotDicom,
      input.length < 132
        ? `only ${input.length} bytes, no DICOM preamble`
        : 'no DICM prefix at byte 128 and no data element at byte 0',
    );
  }
  const { meta, next } = readMeta(input, at, leading);
  const tsElement = meta.find((e) => e.tag === Tag.TransferSyntaxUID);
  const transferSyntaxUID =
    stringValue(input, tsElement) || guessTransferSyntax(input, next);
  let body = input;
  let bodyStart = next;
  if (transferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian) {
    try {
      // A stream cut short inflates up to the cut when reading leading
      // elements; otherwise it must end properly.
      body = inflateRawSync(
        input.subarray(next),
        leading ? { finishFlush: constants.Z_SYNC_FLUSH } : {},
      );
    } catch (err) {
      // zlib says Z_BUF_ERROR ("unexpected end of file") when the input
      // ends before the deflate stream does: the file was cut short, as
      // any other cut file is TRUNCATED. Anything else (Z_DATA_ERROR) is
      // a stream whose bytes are wrong.
      if ((err as { code?: unknown }).code === 'Z_BUF_ERROR')
        throw new DicomError(
          DicomErrorCode.Truncated,
          `deflated data set from byte ${next} ends at byte ${input.length}, before its deflate stream does`,
        );
      throw new DicomError(
        DicomErrorCode.Malformed,
        `deflated data set at byte ${next} does not inflate`,
      );
    }
    bodyStart = 0;
  }
  const encoding = encodingOf(transferSyntaxUID);
  const warnings: string[] = [];
  let elements: DicomElement[];
  let bodyEnd: number;
  let unordered: true | undefined;
  if (leading) {
    const read = leadingElements(body, encoding, bodyStart);
    ({ elements, next: bodyEnd } = read);
    if (read.cutAt !== undefined)
      warnings.push(
        `the data set ends inside the element at byte ${read.cutAt}; only the elements before it were read`,
      );
  } else {
    try {
      ({
        elements,
        next: bodyEnd,
        unordered,
      } = parseElements(body, encoding, bodyStart, body.length, 0, false));
    } catch (err) {
      // The deflate stream inflated to its end, so the file is whole: a
      // data set that ends inside an element was deflated wrong or its
      // compressed bytes were altered, not cut.
      if (
        body !== input &&
        err instanceof DicomError &&
        err.code === DicomErrorCode.Truncated
      )
        throw new DicomError(
          DicomErrorCode.Malformed,
          `deflated data set from byte ${next} inflates whole, yet its ${body.length} bytes end inside ${err.message.replace(/^file ends inside /, '')}: its compressed bytes are wrong`,
        );
      throw err;
    }
  }
  if (bodyEnd < body.length) {
    warnings.push(
      `${body.length - bodyEnd} bytes of zero padding after the data set ignored`,
    );
  }
  const metaSet: DataSet = {
    buffer: input,
    encoding: EXPLICIT_LE,
    elements: meta,
  };
  return {
    meta: metaSet,
    body: { buffer: body, encoding, elements, ...(unordered && { unordered }) },
    transferSyntaxUID,
    hasPreamble,
    warnings,
  };
}
