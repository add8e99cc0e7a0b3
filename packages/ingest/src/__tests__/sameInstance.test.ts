import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, SiteKeys } from '@lpacs/deid';
import { Lake } from '@lpacs/lake';
import { sameInstance } from '../sameInstance';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const CT = join(REPO, 'datasets', 'cache', 'ct-test', 'P0001', 'ST01', 'SE01');
const work = mkdtempSync(join(tmpdir(), 'lpacs-same-'));
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** dcmtk's dcmodify on a copy of the bytes. */
function modified(bytes: Buffer, args: string[]): Buffer {
  const path = join(work, `${n++}.dcm`);
  writeFileSync(path, bytes);
  execFileSync('dcmodify', ['-nb', ...args, path], { stdio: 'ignore' });
  return readFileSync(path);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('sameInstance across de-identification changes', () => {
  it("takes the object an earlier lpacs wrote (age over 89 as it came, an unlisted name kept) and today's as one instance", async () => {
    const lake = await Lake.open(join(work, 'lake'));
    const source = modified(readFileSync(join(CT, 'CT000001.dcm')), [
      '-m',
      '(0010,1010)=095Y',
      '-i',
      '(0014,2006)=ZZEVAL^PLANTED',
    ]);
    const now = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3))).deidentify(
      parseDicom(source),
    ).bytes;
    // What lpacs wrote before it capped ages and emptied unlisted names:
    // the same output with those two values as the source had them.
    const before = modified(now, [
      '-m',
      '(0010,1010)=095Y',
      '-m',
      '(0014,2006)=ZZEVAL^PLANTED',
    ]);
    assert.notEqual(sha(before), sha(now));
    lake.putObjectSync(before, sha(before));
    assert.equal(sameInstance(lake, sha(before), now), true);
    // Another instance's content is still told apart.
    const other = modified(now, ['-m', '(0008,103e)=ANOTHER SERIES']);
    assert.equal(sameInstance(lake, sha(before), other), false);
    const younger = modified(now, ['-m', '(0010,1010)=075Y']);
    assert.equal(sameInstance(lake, sha(before), younger), false);
  });

  it('takes an age an earlier lpacs kept outside AS form (45Y) and the one written now (045Y, PS3.5 6.2) as one instance', async () => {
    const lake = await Lake.open(join(work, 'lake-as'));
    const source = modified(readFileSync(join(CT, 'CT000001.dcm')), [
      '-m',
      '(0010,1010)=45Y',
    ]);
    const now = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3))).deidentify(
      parseDicom(source),
    ).bytes;
    const before = modified(now, ['-m', '(0010,1010)=45Y']);
    assert.notEqual(sha(before), sha(now));
    lake.putObjectSync(before, sha(before));
    assert.equal(sameInstance(lake, sha(before), now), true);
  });
});
