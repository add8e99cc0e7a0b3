import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findElement, parseDicom } from '@lpacs/dicom';
import type { DicomElement } from '@lpacs/dicom';
import { Deidentifier, SiteKeys, verifyDeidentified } from '../index';
import { CT_FILE } from './fixtures';

// Elements out of ascending tag order, or one tag twice (PS3.5 7.1
// forbids both). findElement stops at the first higher tag, so before
// parseDicom sorted them a PatientID placed after StudyInstanceUID was
// not found: the object got a pseudonym from an empty identity (every
// such patient the same one) and a second PatientID. The twin of a
// PatientName went out beside the first.

const dir = mkdtempSync(join(tmpdir(), 'lpacs-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RequestAttributesSequence = 0x00400275;
const AccessionNumber = 0x00080050;
const RequestedProcedureID = 0x00401001;

const source = readFileSync(CT_FILE);
const parsed = parseDicom(source);
/** Element offsets count from here (the data set's buffer in the file). */
const head = source.length - parsed.body.buffer.length;
/** The preamble and file meta: everything before the first element. */
const prefix = (b: Buffer, p: ReturnType<typeof parseDicom>) =>
  b.subarray(0, b.length - p.body.buffer.length + p.body.elements[0]!.start);
const bytesOf = (el: DicomElement) =>
  source.subarray(head + el.start, head + el.end);
const top = (tag: number) => findElement(parsed.body.elements, tag)!;

/** An explicit VR little endian string element, padded to even length. */
function text(tag: number, vr: string, value: string): Buffer {
  const v = Buffer.from(value.length % 2 ? `${value} ` : value, 'latin1');
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  b.write(vr, 4, 'latin1');
  b.writeUInt16LE(v.length, 6);
  return Buffer.concat([b, v]);
}

/**
 * The CT with its data set rebuilt from `order`: each entry a top-level
 * element (written as read) or bytes to place there.
 */
function rebuilt(order: Array<DicomElement | Buffer>): Buffer {
  return Buffer.concat([
    prefix(source, parsed),
    ...order.map((e) => (Buffer.isBuffer(e) ? e : bytesOf(e))),
  ]);
}

/**
 * RequestAttributesSequence (explicit length, one explicit-length item)
 * with its item's elements in `order`, the lengths made to fit.
 */
function requestAttributes(order: Buffer[]): Buffer {
  const body = Buffer.concat(order);
  const item = Buffer.alloc(8);
  item.writeUInt16LE(0xfffe, 0);
  item.writeUInt16LE(0xe000, 2);
  item.writeUInt32LE(body.length, 4);
  const seq = Buffer.alloc(12);
  seq.writeUInt16LE(0x0040, 0);
  seq.writeUInt16LE(0x0275, 2);
  seq.write('SQ', 4, 'latin1');
  seq.writeUInt32LE(8 + body.length, 8);
  return Buffer.concat([seq, item, body]);
}

const itemElements = top(RequestAttributesSequence).items![0]!.elements;
const inItem = (tag: number) => {
  const el = findElement(itemElements, tag)!;
  return source.subarray(head + el.start, head + el.end);
};

/** dcmdump's complaints about the file, on stderr. */
function dcmdumpWarnings(bytes: Buffer): string {
  const path = join(dir, 'dump.dcm');
  writeFileSync(path, bytes);
  return spawnSync('dcmdump', [path], { encoding: 'latin1' }).stderr;
}

const deid = () => new Deidentifier(new SiteKeys(Buffer.alloc(32, 9)));

describe('elements out of tag order or twice', () => {
  const reference = deid().deidentify(parseDicom(source));

  it('de-identifies a data set and an item read out of order exactly as the ordered original', () => {
    // PatientID moved after StudyInstanceUID; the item's elements
    // reversed.
    const els = parsed.body.elements;
    const moved = rebuilt(
      els.flatMap((el): Array<DicomElement | Buffer> =>
        el.tag === 0x00100020
          ? []
          : el.tag === 0x0020000d
            ? [el, top(0x00100020)]
            : el.tag === RequestAttributesSequence
              ? [
                  requestAttributes([
                    inItem(RequestedProcedureID),
                    inItem(0x00400009),
                    inItem(AccessionNumber),
                  ]),
                ]
              : [el],
      ),
    );
    assert.equal(moved.length, source.length);
    assert.match(dcmdumpWarnings(moved), /not in ascending tag order/i);
    const read = parseDicom(moved);
    assert.equal(read.body.unordered, true);
    assert.equal(
      findElement(read.body.elements, RequestAttributesSequence)!.items![0]!
        .unordered,
      true,
    );
    const out = deid().deidentify(read);
    assert.ok(
      Buffer.from(out.bytes).equals(Buffer.from(reference.bytes)),
      'the same bytes as the ordered original gives',
    );
    assert.equal(dcmdumpWarnings(Buffer.from(out.bytes)), '');
    assert.equal(
      verifyDeidentified(parseDicom(Buffer.from(out.bytes))),
      undefined,
    );
  });

  it('keeps the first of twins, removes the later one with a notice, and none of its value goes out', () => {
    const twinName = text(0x00100010, 'PN', 'PLNTTWIN^Rosa');
    const twinAccession = text(AccessionNumber, 'SH', 'PLNTACC99');
    const twins = rebuilt(
      parsed.body.elements.flatMap((el): Array<DicomElement | Buffer> =>
        el.tag === 0x00100010
          ? [el, twinName]
          : el.tag === RequestAttributesSequence
            ? [
                requestAttributes([
                  inItem(AccessionNumber),
                  twinAccession,
                  inItem(0x00400009),
                  inItem(RequestedProcedureID),
                ]),
              ]
            : [el],
      ),
    );
    const read = parseDicom(twins);
    assert.equal(read.body.unordered, true);
    const out = deid().deidentify(read);
    const bytes = Buffer.from(out.bytes);
    assert.ok(bytes.equals(Buffer.from(reference.bytes)));
    assert.ok(!bytes.toString('latin1').includes('PLNT'));
    assert.equal(out.actions.duplicate, 2);
    assert.deepEqual(
      out.notices!.filter((n) => /more than once/.test(n)),
      [
        '(0010,0010) appears more than once in one data set or item: the first kept, a later one removed',
        '(0008,0050) appears more than once in one data set or item: the first kept, a later one removed',
      ],
    );
  });

  it('refuses a synced object with elements out of order or twice, naming the element', () => {
    const clean = Buffer.from(reference.bytes);
    const c = parseDicom(clean);
    const cHead = clean.length - c.body.buffer.length;
    const of = (el: DicomElement) =>
      clean.subarray(cHead + el.start, cHead + el.end);
    const name = findElement(c.body.elements, 0x00100010)!;
    const swapped = Buffer.concat([
      prefix(clean, c),
      ...c.body.elements.flatMap((el) =>
        el.tag === 0x00100010
          ? []
          : el.tag === 0x00100020
            ? [of(el), of(name)]
            : [of(el)],
      ),
    ]);
    assert.equal(
      verifyDeidentified(parseDicom(swapped)),
      '(0010,0010) PatientName comes after (0010,0020), and lpacs writes elements in ascending tag order',
    );
    const twice = Buffer.concat([
      prefix(clean, c),
      ...c.body.elements.flatMap((el) =>
        el.tag === 0x00100010 ? [of(el), of(el)] : [of(el)],
      ),
    ]);
    assert.equal(
      verifyDeidentified(parseDicom(twice)),
      '(0010,0010) PatientName appears twice in one data set or item, which lpacs never writes',
    );
  });
});
