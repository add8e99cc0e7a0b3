import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, SiteKeys } from '../index';
import { CT_FILE } from './fixtures';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-uid-values-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 6)));

/** pydicom's values of a UI element, top level or in item 0 of a sequence. */
function uids(path: string, where: string): string[] {
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
for step in sys.argv[2].split('.')[:-1]:
    ds = ds[int(step, 16)].value[0]
v = ds[int(sys.argv[2].split('.')[-1], 16)].value
print(json.dumps([str(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]))`,
        path,
        where,
      ],
      { encoding: 'utf8' },
    ),
  ) as string[];
}

/** A UID as PS3.5 9.1 and B.2 allow for 2.25: at most 64 characters, no leading zero, below 2^128. */
function valid(uid: string): boolean {
  const m = /^2\.25\.(0|[1-9][0-9]*)$/.exec(uid);
  return !!m && uid.length <= 64 && BigInt(m[1]!) < 2n ** 128n;
}

describe('UIDs with several values, nested, and shared between objects', () => {
  it('remaps each value of a multi-valued UI element alike, as the same UID elsewhere', () => {
    const input = join(dir, 'multi.dcm');
    copyFileSync(CT_FILE, input);
    // Failed SOP Instance UID List (0008,0058, U, VM 1-n): this object's
    // own SOP Instance UID, another, one with a leading-zero component
    // (invalid, as devices write them) and a 64-character one; the first
    // again inside Referenced Image Sequence (0008,1140, X/Z/U*).
    execFileSync(PYTHON, [
      '-c',
      `import sys, pydicom
from pydicom.dataset import Dataset
ds = pydicom.dcmread(sys.argv[1])
own = ds.SOPInstanceUID
ds.add_new(0x00080058, 'UI', [own, '1.2.826.0.1.3680043.9.7783.1', '1.2.03.4', '1.' + '2' * 62])
ref = Dataset()
ref.ReferencedSOPClassUID = ds.SOPClassUID
ref.ReferencedSOPInstanceUID = own
ds.ReferencedImageSequence = [ref]
ds.save_as(sys.argv[1])`,
      input,
    ]);
    const before = uids(input, '00080058');
    assert.equal(before.length, 4);
    assert.equal(before[3]!.length, 64);
    const output = join(dir, 'multi-out.dcm');
    writeFileSync(
      output,
      deid.deidentify(parseDicom(readFileSync(input))).bytes,
    );
    const after = uids(output, '00080058');
    assert.equal(after.length, 4);
    for (const u of after) assert.ok(valid(u), u);
    // Four different inputs, four different outputs, none an input.
    assert.equal(new Set(after).size, 4);
    for (const u of after) assert.ok(!before.includes(u));
    // The object's own UID maps as its SOP Instance UID (0008,0018), as
    // file meta (0002,0003) and as the nested reference do.
    const sop = uids(output, '00080018')[0]!;
    assert.equal(after[0], sop);
    assert.deepEqual(uids(output, '00081140.00081155'), [sop]);
    const meta = execFileSync('dcmdump', ['-q', '+P', '0002,0003', output], {
      encoding: 'latin1',
    });
    assert.ok(meta.includes(`[${sop}]`), meta);
    // A second object carrying the same UID gets the same value.
    const again = deid.deidentify(parseDicom(readFileSync(input))).bytes;
    writeFileSync(join(dir, 'again.dcm'), again);
    assert.deepEqual(uids(join(dir, 'again.dcm'), '00080058'), after);
  });
});
