import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Tag, findElement, parseDicom, readString } from '@lpacs/dicom';
import { Deidentifier, SiteKeys } from '../index';
import { ACCEPT_UNMARKED_SC } from './acceptUnmarkedSc';

// Inputs found by a tester (shared cases 03 and 04): standard attributes
// sent with VR UN, which DICOM allows; their values are implicit VR LE.
const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data');
const keys = new SiteKeys(Buffer.alloc(32, 4));
// The tester's files are secondary captures without BurnedInAnnotation.
const deid = new Deidentifier(keys, ACCEPT_UNMARKED_SC);

describe('standard attributes encoded as UN', () => {
  it('de-identifies a sequence sent as UN, items included', () => {
    const input = readFileSync(join(DATA, 'un-sequence.dcm'));
    for (const marker of [
      'MKUNSQACC80',
      'MKUNSQINST81',
      'MKUNSQNAME82',
      'MKUNSQPID83',
    ]) {
      assert.ok(input.includes(marker), `${marker} planted`);
    }
    const out = deid.deidentify(parseDicom(input)).bytes.toString('latin1');
    for (const marker of [
      'MKUNSQACC80',
      'MKUNSQINST81',
      'MKUNSQNAME82',
      'MKUNSQPID83',
    ]) {
      assert.ok(!out.includes(marker), `${marker} survived`);
    }
  });

  it('remaps UIDs sent as UN instead of emptying them', () => {
    const input = readFileSync(join(DATA, 'un-uids.dcm'));
    const out = parseDicom(deid.deidentify(parseDicom(input)).bytes).body;
    const uid = (tag: number) =>
      readString(out.buffer, findElement(out.elements, tag));
    assert.equal(
      uid(Tag.SOPInstanceUID),
      keys.uid('1.2.826.0.1.3680043.9.9999.61.1.1'),
    );
    assert.equal(
      uid(Tag.StudyInstanceUID),
      keys.uid('1.2.826.0.1.3680043.9.9999.61.1.2'),
    );
    assert.equal(
      uid(Tag.SeriesInstanceUID),
      keys.uid('1.2.826.0.1.3680043.9.9999.61.1.3'),
    );
  });
});
