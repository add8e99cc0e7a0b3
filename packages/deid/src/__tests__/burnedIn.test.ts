import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { DeidError, Deidentifier, SiteKeys } from '../index';

const REPO = join(__dirname, '..', '..', '..', '..');
const CT_FILE = join(
  REPO,
  'datasets',
  'cache',
  'ct-test',
  'P0001',
  'ST01',
  'SE01',
  'CT000001.dcm',
);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-burned-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 9)));

/** A copy of a real CT made into another SOP class with dcmtk's dcmodify. */
function asClass(name: string, sopClass: string, burnedIn?: string): Buffer {
  const path = join(dir, `${name}.dcm`);
  copyFileSync(CT_FILE, path);
  // dcmodify updates the file meta's MediaStorageSOPClassUID to match.
  const edits = ['-m', `(0008,0016)=${sopClass}`];
  if (burnedIn) edits.push('-i', `(0028,0301)=${burnedIn}`);
  execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  return readFileSync(path);
}

function refusal(bytes: Buffer): string | undefined {
  try {
    deid.deidentify(parseDicom(bytes));
    return undefined;
  } catch (err) {
    assert.ok(err instanceof DeidError);
    assert.equal(err.code, 'BURNED_IN_ANNOTATION');
    return err.message;
  }
}

describe('burned-in text policy', () => {
  it('refuses ultrasound, endoscopy and encapsulated documents that do not say NO', () => {
    // SOP Class UIDs from PS3.4 Annex B, written out by hand.
    for (const [name, uid] of [
      ['Ultrasound Image', '1.2.840.10008.5.1.4.1.1.6.1'],
      ['Ultrasound Multi-frame Image', '1.2.840.10008.5.1.4.1.1.3.1'],
      ['VL Endoscopic Image', '1.2.840.10008.5.1.4.1.1.77.1.1'],
      ['Encapsulated PDF', '1.2.840.10008.5.1.4.1.1.104.1'],
    ] as const)
      assert.match(
        refusal(asClass(name.replace(/ /g, '-'), uid)) ?? 'accepted',
        new RegExp(`^${name} objects`),
        name,
      );
  });

  it('accepts them when BurnedInAnnotation is NO, and refuses any class when it is YES', () => {
    assert.equal(
      refusal(asClass('us-no', '1.2.840.10008.5.1.4.1.1.6.1', 'NO')),
      undefined,
    );
    assert.match(
      refusal(asClass('ct-yes', '1.2.840.10008.5.1.4.1.1.2', 'YES')) ?? '',
      /is YES/,
    );
  });

  it('ingests a secondary capture but reports the risk', () => {
    const out = deid.deidentify(
      parseDicom(asClass('sc', '1.2.840.10008.5.1.4.1.1.7')),
    );
    assert.ok(out.notices?.some((w) => /secondary capture/.test(w)));
    assert.deepEqual(out.warnings, []);
    const ct = deid.deidentify(parseDicom(readFileSync(CT_FILE)));
    assert.ok(!ct.notices?.some((w) => /secondary capture/.test(w)));
  });
});
