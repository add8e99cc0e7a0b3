import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findElement, parseDicom, readString } from '@lpacs/dicom';
import { Deidentifier, SiteKeys, cleanText, identifierPattern } from '../index';
import { CT_TEST } from './fixtures';

// New-user case (session 5): descriptors that repeat words of the
// institution's name and address kept them ("AXIAL Dr <surname> <first
// word of the institution>" lost only the surname; "CT <city> <state>
// <zip>" kept the city). Place words are now cleaned as whole words.

const CT_FILE = join(CT_TEST, ...['P0001', 'ST01', 'SE01', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-places-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 4)));

/** A real CT with place names planted by dcmtk's dcmodify. */
function planted(values: Record<string, string>): Buffer {
  const path = join(dir, 'planted.dcm');
  copyFileSync(CT_FILE, path);
  const edits = Object.entries(values).flatMap(([k, v]) => ['-i', `${k}=${v}`]);
  execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  return readFileSync(path);
}

function described(bytes: Buffer, keyword: number): string | undefined {
  const out = parseDicom(deid.deidentify(parseDicom(bytes)).bytes).body;
  return readString(out.buffer, findElement(out.elements, keyword), [
    'ISO_IR 192',
  ]);
}

const SERIES_DESCRIPTION = 0x0008103e;
const STUDY_DESCRIPTION = 0x00081030;

describe('Clean Descriptors on place names', () => {
  const bytes = planted({
    InstitutionName: 'Mercy Valley Hospital',
    InstitutionAddress: '17 Juniper Lane, Fairview, OH 45014',
    InstitutionalDepartmentName: 'Kestrel Wing Radiology',
    StudyDescription: 'CT Fairview OH 45014 PLANE MVH',
    SeriesDescription: 'AXIAL Juniper Lane MERCY general KESTREL',
  });

  it('removes each identifying word of the institution, its address and department', () => {
    // By hand: Fairview and MVH (initials of Mercy Valley Hospital) go,
    // the state (OH) stays, 45014 goes as a long number; PLANE is not
    // the street word "Lane".
    assert.equal(described(bytes, STUDY_DESCRIPTION), 'CT OH PLANE');
    // Juniper, Lane, Mercy, Kestrel go; "general" is no place's name.
    assert.equal(described(bytes, SERIES_DESCRIPTION), 'AXIAL general');
  });

  it('removes the institution name written without spaces (re-trial case)', () => {
    const joined = planted({
      InstitutionName: 'Mercy Valley Hospital',
      SeriesDescription: 'CT MercyValleyHospital CHEST',
    });
    assert.equal(described(joined, SERIES_DESCRIPTION), 'CT CHEST');
  });

  it('removes the variants trial 7 found kept', () => {
    const bytes = planted({
      InstitutionName: 'Lakeside Memorial Hospital',
      StationName: 'LMH-CT01',
      PerformingPhysicianName: 'CHEN^LI',
      SeriesDescription: 'LAKESIDEMEMORIAL LMHCT01 CHEN LI AXIAL CLINICAL',
    });
    // By hand: two institution words run together, the station name
    // without its hyphen, and both parts of the name go; "LI" inside
    // CLINICAL stays.
    assert.equal(described(bytes, SERIES_DESCRIPTION), 'AXIAL CLINICAL');
  });

  it('matches place words whole, names anywhere', () => {
    const pattern = identifierPattern(['SMITH'], ['Lane']);
    assert.equal(cleanText('PLANE LANE XSMITHX', pattern), 'PLANE X X');
  });
});
