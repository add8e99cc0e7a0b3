import { DicomError, DicomErrorCode } from './errors';
import { Tag, tagString } from './tags';
import { EXPLICIT_LE } from './transferSyntax';
import type { DicomElement, Encoding } from './types';
import { hasLongLength, wordSize } from './vr';

const UNDEFINED = 0xffffffff;

/** Pads a string value to even length: NUL for UI, space otherwise (PS3.5 6.2). */
export function encodeString(
  vr: string,
  text: string,
  charset: 'latin1' | 'utf8' = 'latin1',
): Buffer {
  const bytes = Buffer.from(text, charset);
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
}

function swapped(value: Buffer, size: number): Buffer {
  if (size === 1) return value;
  const copy = Buffer.from(value);
  if (size === 2) copy.swap16();
  else if (size === 4) copy.swap32();
  else copy.swap64();
  return copy;
}

/**
 * Writes a data set as a list of chunks: untouched spans of the input are
 * kept as views (pixel data is never re-encoded), new values are encoded.
 * Sequences it writes itself use undefined length, so no lengths need
 * patching (PS3.5 7.5.1).
 */
export class DicomWriter {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(readonly encoding: Encoding) {}

  get size(): number {
    return this.#size;
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** Writes tag and length (and VR when explicit) into one small buffer. */
  #header(tag: number, vr: string, length: number): void {
    const le = this.encoding.littleEndian;
    const explicit = this.encoding.explicitVR;
    const long = explicit && hasLongLength(vr);
    if (explicit && !long && length > 0xffff) {
      throw new DicomError(
        DicomErrorCode.Malformed,
        `value of ${tagString(tag)} is too long for VR ${vr}`,
      );
    }
    const b = Buffer.allocUnsafe(long ? 12 : 8);
    if (le) {
      b.writeUInt16LE(tag >>> 16, 0);
      b.writeUInt16LE(tag & 0xffff, 2);
    } else {
      b.writeUInt16BE(tag >>> 16, 0);
      b.writeUInt16BE(tag & 0xffff, 2);
    }
    if (!explicit) {
      if (le) b.writeUInt32LE(length, 4);
      else b.writeUInt32BE(length, 4);
    } else {
      b.write(vr, 4, 2, 'latin1');
      if (long) {
        b.writeUInt16LE(0, 6);
        if (le) b.writeUInt32LE(length, 8);
        else b.writeUInt32BE(length, 8);
      } else if (le) b.writeUInt16LE(length, 6);
      else b.writeUInt16BE(length, 6);
    }
    this.#push(b);
  }

  /** An item or delimiter: tag (FFFE,xxxx) and a 4-byte length, never a VR. */
  #marker(tag: number, length: number): void {
    const b = Buffer.allocUnsafe(8);
    if (this.encoding.littleEndian) {
      b.writeUInt16LE(0xfffe, 0);
      b.writeUInt16LE(tag & 0xffff, 2);
      b.writeUInt32LE(length, 4);
    } else {
      b.writeUInt16BE(0xfffe, 0);
      b.writeUInt16BE(tag & 0xffff, 2);
      b.writeUInt32BE(length, 4);
    }
    this.#push(b);
  }

  /** Appends an element with a new value (already padded to even length). */
  element(tag: number, vr: string, value: Buffer): void {
    this.#header(tag, vr, value.length);
    if (value.length) this.#push(value);
  }

  /** Appends a string element, padded to even length. */
  string(
    tag: number,
    vr: string,
    text: string,
    charset: 'latin1' | 'utf8' = 'latin1',
  ): void {
    this.element(tag, vr, encodeString(vr, text, charset));
  }

  /**
   * Copies an element from a parsed data set. Bytes are kept as they are
   * when the encodings match; otherwise the header is rewritten and binary
   * values are byte-swapped.
   */
  copy(buf: Buffer, from: Encoding, el: DicomElement): void {
    const same =
      from.littleEndian === this.encoding.littleEndian &&
      from.explicitVR === this.encoding.explicitVR;
    if (same) {
      this.#push(buf.subarray(el.start, el.end));
      return;
    }
    if (el.items || el.fragments) {
      throw new DicomError(
        DicomErrorCode.Malformed,
        `cannot re-encode ${tagString(el.tag)} across byte orders`,
      );
    }
    let value = buf.subarray(el.valueOffset, el.valueOffset + el.length);
    if (from.littleEndian !== this.encoding.littleEndian)
      value = swapped(value, wordSize(el.vr));
    this.element(el.tag, el.vr, value);
  }

  /** Appends everything another writer of the same encoding holds. */
  append(other: DicomWriter): void {
    for (const chunk of other.chunks()) this.#push(chunk);
  }

  beginSequence(tag: number): void {
    this.#header(tag, 'SQ', UNDEFINED);
  }

  beginItem(): void {
    this.#marker(Tag.Item, UNDEFINED);
  }

  endItem(): void {
    this.#marker(Tag.ItemDelimitationItem, 0);
  }

  endSequence(): void {
    this.#marker(Tag.SequenceDelimitationItem, 0);
  }

  /** The chunks written so far, in order. */
  chunks(): readonly Buffer[] {
    return this.#chunks;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }
}

/** The values of the file meta information this product writes. */
export interface FileMeta {
  mediaStorageSOPClassUID: string;
  mediaStorageSOPInstanceUID: string;
  transferSyntaxUID: string;
  implementationClassUID: string;
  implementationVersionName: string;
}

/** Preamble, `DICM` and the file meta group (PS3.10 7.1), explicit VR LE. */
export function encodeFileMeta(meta: FileMeta): Buffer {
  const group = new DicomWriter(EXPLICIT_LE);
  group.element(Tag.FileMetaInformationVersion, 'OB', Buffer.from([0, 1]));
  group.string(Tag.MediaStorageSOPClassUID, 'UI', meta.mediaStorageSOPClassUID);
  group.string(
    Tag.MediaStorageSOPInstanceUID,
    'UI',
    meta.mediaStorageSOPInstanceUID,
  );
  group.string(Tag.TransferSyntaxUID, 'UI', meta.transferSyntaxUID);
  group.string(Tag.ImplementationClassUID, 'UI', meta.implementationClassUID);
  group.string(
    Tag.ImplementationVersionName,
    'SH',
    meta.implementationVersionName,
  );
  const body = group.toBuffer();
  const head = new DicomWriter(EXPLICIT_LE);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  head.element(Tag.FileMetaInformationGroupLength, 'UL', length);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    head.toBuffer(),
    body,
  ]);
}
