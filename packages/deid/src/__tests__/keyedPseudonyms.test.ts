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

// The pseudonyms are HMAC-SHA-256 of the original under the site secret
// (SiteKeys: purpose, NUL, value), recomputed here by Python's hmac and
// base64 modules, and read from the output by dcmdump.

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-keyed-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = Buffer.alloc(32, 0x5a);

/** Python's HMAC-SHA-256 of `purpose\0value` under SECRET, as lpacs encodes it. */
function python(purpose: string, value: string): string {
  return execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, hmac, hashlib, base64
d = hmac.new(bytes.fromhex(sys.argv[1]), (sys.argv[2] + '\\0' + sys.argv[3]).encode(), hashlib.sha256).digest()
b32 = base64.b32encode(d).decode()
print({'patient': 'LP' + b32[:16], 'accession': 'A' + b32[:15],
       'uid': '2.25.%d' % int.from_bytes(d[:16], 'big')}[sys.argv[2]])`,
      SECRET.toString('hex'),
      purpose,
      value,
    ],
    { encoding: 'utf8' },
  ).trim();
}

function value(path: string, tag: string): string {
  const line = execFileSync('dcmdump', ['-q', '+P', tag, path], {
    encoding: 'latin1',
  });
  return /\[([^\]]*)\]/.exec(line)?.[1] ?? '';
}

describe('keyed pseudonyms, recomputed outside lpacs', () => {
  it('writes PatientID, AccessionNumber and UIDs as HMACs of the originals under the site secret', () => {
    const input = join(dir, 'in.dcm');
    copyFileSync(CT_FILE, input);
    execFileSync('dcmodify', [
      ...['-nb', '-q', '-m', '(0010,0020)=QQMRN-77'],
      ...['-m', '(0008,0050)=ACC 4711 ', input],
    ]);
    const sop = value(input, '0008,0018');
    assert.equal(value(input, '0010,0021'), ''); // no Issuer of Patient ID
    const output = join(dir, 'out.dcm');
    writeFileSync(
      output,
      new Deidentifier(new SiteKeys(SECRET)).deidentify(
        parseDicom(readFileSync(input)),
      ).bytes,
    );
    // The patient is keyed by issuer (none here) and ID: id:<issuer>|<ID>.
    assert.equal(value(output, '0010,0020'), python('patient', 'id:|QQMRN-77'));
    // dcmodify stores "ACC 4711 " padded; the key is the trimmed value.
    assert.equal(value(output, '0008,0050'), python('accession', 'ACC 4711'));
    assert.equal(value(output, '0008,0018'), python('uid', sop));
  });
});
