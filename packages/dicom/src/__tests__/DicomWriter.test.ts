import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DicomWriter, EXPLICIT_LE, encodeString, parseDicom } from '../index';
import { SAMPLE, filesUnder } from './fixtures';

describe('DicomWriter', () => {
  for (const file of filesUnder(SAMPLE).filter(
    (f) => !f.includes('deflated'),
  )) {
    it(`copies every element of ${file.slice(SAMPLE.length + 1)} back byte for byte`, () => {
      const input = readFileSync(file);
      const { body } = parseDicom(input);
      const w = new DicomWriter(body.encoding);
      for (const el of body.elements) w.copy(body.buffer, body.encoding, el);
      const first = body.elements[0]!.start;
      const last = body.elements[body.elements.length - 1]!.end;
      assert.ok(w.toBuffer().equals(body.buffer.subarray(first, last)));
    });
  }

  it('pads odd strings with a space, and UIDs with NUL (PS3.5 6.2)', () => {
    assert.deepEqual([...encodeString('LO', 'ABC')], [0x41, 0x42, 0x43, 0x20]);
    assert.deepEqual(
      [...encodeString('UI', '1.2.3')],
      [0x31, 0x2e, 0x32, 0x2e, 0x33, 0x00],
    );
    assert.equal(encodeString('CS', 'AB').length, 2);
  });

  it('writes sequences with undefined length that read back', () => {
    const w = new DicomWriter(EXPLICIT_LE);
    w.beginSequence(0x00120064);
    w.beginItem();
    w.string(0x00080100, 'SH', '113100');
    w.endItem();
    w.endSequence();
    const bytes = w.toBuffer();
    // Explicit VR LE, SQ: tag, 'SQ', 2 reserved bytes, length 0xFFFFFFFF
    assert.deepEqual(
      [...bytes.subarray(0, 12)],
      [0x12, 0x00, 0x64, 0x00, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff],
    );
    const meta = readFileSync(`${SAMPLE}/explicit_little.dcm`);
    const head = meta.subarray(0, 132 + meta.readUInt32LE(140) + 12);
    const parsed = parseDicom(Buffer.concat([head, bytes]));
    const seq = parsed.body.elements[0]!;
    assert.equal(seq.items?.length, 1);
    assert.equal(seq.items?.[0]?.elements[0]?.tag, 0x00080100);
  });
});
