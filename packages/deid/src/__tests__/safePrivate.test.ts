import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import { dcmdump, dumpFixture, dumpedTags } from './dumpFixture';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-safe-private-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 5));
const safe = new Deidentifier(keys, {
  ...RESEARCH_DEFAULT,
  retainSafePrivate: true,
});
const basic = new Deidentifier(keys, RESEARCH_DEFAULT);

/**
 * Safe and unsafe private elements: SIEMENS MR HEADER reserved at blocks
 * 10 and 11, another vendor at 12 using a safe offset, the Siemens CSA
 * header, a Philips b-factor, and a Siemens block inside a sequence item.
 */
const LINES = [
  '(0002,0002) UI =MRImageStorage',
  '(0002,0003) UI [1.2.3.4.5.6.7]',
  '(0008,0016) UI =MRImageStorage',
  '(0008,0018) UI [1.2.3.4.5.6.7]',
  '(0008,0060) CS [MR]',
  '(0008,1140) SQ (Sequence with undefined length)',
  '(fffe,e000) na (Item with undefined length)',
  '(0008,1150) UI =MRImageStorage',
  '(0008,1155) UI [1.2.3.4.5.6.8]',
  '(0019,0010) LO [SIEMENS MR HEADER]',
  '(0019,100c) IS [800]',
  '(0019,1008) CS [IMAGE NUM 4]',
  '(fffe,e00d) na (ItemDelimitationItem)',
  '(fffe,e0dd) na (SequenceDelimitationItem)',
  '(0010,0010) PN [DOE^JANE]',
  '(0010,0020) LO [PID123]',
  '(0019,0010) LO [SIEMENS MR HEADER]',
  '(0019,0011) LO [SIEMENS MR HEADER]',
  '(0019,0012) LO [OTHER VENDOR]',
  '(0019,1008) CS [IMAGE NUM 4]',
  '(0019,100c) IS [1000]',
  '(0019,110e) FD 0.5\\0.25\\-1',
  '(0019,120c) IS [777]',
  '(0020,000d) UI [1.2.3.4.5.1]',
  '(0020,000e) UI [1.2.3.4.5.2]',
  '(0029,0010) LO [SIEMENS CSA HEADER]',
  '(0029,1010) OB 53\\56\\31\\30',
  '(2001,0010) LO [Philips Imaging DD 001]',
  '(2001,1003) FL 1500',
];

function run(deid: Deidentifier, syntax: string, name: string): string {
  const input = readFileSync(dumpFixture(dir, name, LINES, syntax));
  const path = join(dir, `${name}.out.dcm`);
  writeFileSync(path, deid.deidentify(parseDicom(input)).bytes);
  return path;
}

const privateTags = (path: string) =>
  dumpedTags(path).filter((t) => /^\s*[0-9a-f]{3}[13579bdf],/.test(t));

describe('Retain Safe Private Option (PS3.15 E.3.10)', () => {
  for (const syntax of ['+te', '+ti']) {
    it(`keeps listed elements by creator and low byte, and their creators, at any block and in items (${syntax})`, () => {
      const out = run(safe, syntax, `safe${syntax}`);
      // Worked out by hand from the safe list: 0C and 0E of SIEMENS MR
      // HEADER (blocks 10 and 11) and 03 of Philips Imaging DD 001 stay;
      // 08 of Siemens, 0C under OTHER VENDOR and the CSA header go.
      assert.deepEqual(privateTags(out), [
        '    0019,0010',
        '    0019,100c',
        '0019,0010',
        '0019,0011',
        '0019,100c',
        '0019,110e',
        '2001,0010',
        '2001,1003',
      ]);
      const text = dcmdump(out);
      assert.match(text, /\(0019,100c\) (IS \[1000\]|\?\? 31\\30\\30\\30)/);
      assert.doesNotMatch(text, /OTHER VENDOR|SIEMENS CSA HEADER|IMAGE NUM/);
      assert.match(text, /\[113111\]/);
      assert.match(text, /Retain Safe Private Option/);
    });
  }

  it('removes every private element without the option', () => {
    const out = run(basic, '+te', 'basic');
    assert.deepEqual(privateTags(out), []);
    assert.doesNotMatch(dcmdump(out), /113111/);
  });

  it('counts what it kept, without values', () => {
    const input = readFileSync(dumpFixture(dir, 'count', LINES));
    const outcome = safe.deidentify(parseDicom(input));
    // 8 kept private elements (6 at the top, 2 in the item).
    assert.equal(outcome.actions.safePrivate, 8);
  });
});
