import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, SiteKeys } from '../index';
import { CT_FILE } from './fixtures';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-fallback-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)));

/**
 * The corpus CT with Frame of Reference UID (0020,0052), which Table
 * E.1-1 gives U, sent as UN (32-bit length) holding 2,500 UIDs: 90,280
 * bytes, which the remapped UI value cannot carry in Explicit VR Little
 * Endian, where UI has a 16-bit length (PS3.5 7.1.2). Written by pydicom.
 */
function plantLongUid(path: string): void {
  copyFileSync(CT_FILE, path);
  execFileSync(PYTHON, [
    '-c',
    `import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
v = '\\\\'.join('1.2.826.0.1.3680043.9.7783.%d.%d' % (i, i) for i in range(2500)).encode()
ds.add_new(0x00200052, 'UN', v + b'\\0' * (len(v) % 2))
ds.save_as(sys.argv[1])`,
    path,
  ]);
}

/** pydicom's reading of a file: transfer syntax, and whether (0020,0052) is in it. */
function read(path: string): string {
  return execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(ds.file_meta.TransferSyntaxUID, len(ds[0x00200052].value) if 0x00200052 in ds else 'absent')`,
      path,
    ],
    { encoding: 'utf8' },
  ).trim();
}

describe("an element whose action fails (PS3.15: never the whole file for one element's action)", () => {
  it('is removed, recorded as a warning and counted, and the rest of the object is written', () => {
    const input = join(dir, 'long-uid.dcm');
    plantLongUid(input);
    // The planted value is there, 90,280 bytes, in Explicit VR Little Endian.
    assert.equal(read(input), '1.2.840.10008.1.2.1 90280');
    const plain = deid.deidentify(parseDicom(readFileSync(CT_FILE)));
    const out = deid.deidentify(parseDicom(readFileSync(input)));
    assert.deepEqual(out.warnings, [
      'could not apply U to (0020,0052): removed',
    ]);
    assert.equal(out.actions.fallback, 1);
    // Removed: one X more than the same CT without it, and one U fewer
    // (the CT's own Frame of Reference UID is the element replaced).
    assert.equal(out.actions.X, (plain.actions.X ?? 0) + 1);
    assert.equal(out.actions.U, (plain.actions.U ?? 0) - 1);
    assert.equal(plain.actions.fallback, undefined);
    const output = join(dir, 'out.dcm');
    writeFileSync(output, out.bytes);
    assert.equal(read(output), '1.2.840.10008.1.2.1 absent');
    // Every other element is what the CT alone gives (same keys, same
    // dates): dcmdump of both outputs differs only in (0020,0052).
    const plainPath = join(dir, 'plain.dcm');
    writeFileSync(plainPath, plain.bytes);
    const dump = (p: string) =>
      execFileSync('dcmdump', ['-q', '+L', p], { encoding: 'latin1' })
        .split('\n')
        .filter((l) => !l.startsWith('(0020,0052)'));
    assert.deepEqual(dump(output), dump(plainPath));
  });
});
