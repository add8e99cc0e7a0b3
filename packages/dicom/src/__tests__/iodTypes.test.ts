import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { iodOf, iodTypesFor } from '../index';
import { REPO } from './fixtures';

const PART3 = '/usr/share/gdcm-3.0/XML/Part3.xml';

describe('IOD types generated from GDCM PS3.3', () => {
  it('is what the generator makes from the installed Part3.xml', (t) => {
    // CI installs libgdcm-tools (datasets/install-tools.sh), which brings
    // libgdcm3.0 and the XML: there the check must run, not skip.
    if (!existsSync(PART3) && !process.env.CI) {
      t.skip(
        `${PART3} is absent: install libgdcm3.0 (datasets/install-tools.sh)`,
      );
      return;
    }
    const script = join(
      REPO,
      'packages',
      'dicom',
      'scripts',
      'generate-iod-types.mjs',
    );
    const r = spawnSync('node', [script, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /up to date/);
  });

  // Types checked by hand against PS3.3 (the module table named).
  it('gives the types PS3.3 writes for attributes checked by hand', () => {
    const type = (sop: string, tag: number) => iodTypesFor(sop)?.get(tag);
    const CT = '1.2.840.10008.5.1.4.1.1.2';
    const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';
    const ECG = '1.2.840.10008.5.1.4.1.1.9.1.1';
    // Table C.7-5a General Series: Referenced Performed Procedure Step
    // Sequence type 3; Table C.17-1 SR Document Series: type 2.
    assert.equal(type(CT, 0x00081111), '3');
    assert.equal(type(BASIC_TEXT_SR, 0x00081111), '2');
    // Table C.7-1 Patient: Patient ID type 2.
    assert.equal(type(CT, 0x00100020), '2');
    // Table C.7-9 General Image: Content Date 2C; Table C.17-2 SR
    // Document General: 1; Table C.10-8 Waveform Identification: 1.
    assert.equal(type(CT, 0x00080023), '2C');
    assert.equal(type(BASIC_TEXT_SR, 0x00080023), '1');
    assert.equal(type(ECG, 0x00080023), '1');
    // Table C.7.6.14-1 Acquisition Context: type 2 (module M in ECG).
    assert.equal(type(ECG, 0x00400555), '2');
    // Table C.7-8 General Equipment: Institution Name type 3.
    assert.equal(type(CT, 0x00080080), '3');
    assert.equal(iodOf(CT), 'CT Image');
    assert.equal(iodOf(ECG), '12 Lead ECG');
    // A retired SOP class (Nuclear Medicine Image Storage, retired) and one
    // newer than the 2008 tables are not mapped.
    assert.equal(iodTypesFor('1.2.840.10008.5.1.4.1.1.5'), undefined);
    assert.equal(iodTypesFor('1.2.840.10008.5.1.4.1.1.88.34'), undefined);
  });
});
