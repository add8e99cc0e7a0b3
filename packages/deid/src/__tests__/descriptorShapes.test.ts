import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findElement, parseDicom, readString } from '@lpacs/dicom';
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { cleanText } from '../cleanText';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_TEST } from './fixtures';

// Trial 10: "CT 93-year-old" and "CT 3/15 f/u" were kept, while
// "CT pt 93 yo" and "15-MAR-2024" lost the age and the date. Each
// expected value is the text with the age or date taken out, by hand.

/** Text, and what Clean Descriptors keeps of it without any identifier. */
const AGES: Array<[string, string]> = [
  ['CT 93-year-old', 'CT'],
  ['93 year old chest', 'chest'],
  ['CT 93 years old', 'CT'],
  ['93-yr-old head', 'head'],
  ['CT 93yo', 'CT'],
  ['CT 93 y/o', 'CT'],
  ['CT 93 y.o. male', 'CT male'],
  ['CT 93yoF', 'CT'],
  ['CT age 93', 'CT'],
  ['aged 93 knee', 'knee'],
  ['CT 93Y', 'CT'],
  ['CT 093Y', 'CT'],
  // Every age said to be one, not only those over 89.
  ['CT pt 45 yo', 'CT pt'],
  ['45-year-old F chest', 'F chest'],
  ['age: 7 head', 'head'],
  ['CT 007Y', 'CT'],
  // Years alone: a follow-up under 90, an age over 89.
  ['f/u 2 years', 'f/u 2 years'],
  ['CT 93 years', 'CT'],
  // No age: stage, image, a number of years in a word.
  ['stage 3 image 2', 'stage 3 image 2'],
];

const DATES: Array<[string, string]> = [
  ['CT 3/15 f/u', 'CT f/u'],
  ['15/3 chest', 'chest'],
  ['CT 12/31', 'CT'],
  ['MR 15.03. head', 'MR head'],
  ['MR 15.3. head', 'MR head'],
  ['Mar 15 abdomen', 'abdomen'],
  ['15 Mar abdomen', 'abdomen'],
  ['March 15th CT', 'CT'],
  ['CT 15th of March', 'CT'],
  ['CT 15-MAR', 'CT'],
  ['CT SEPT 3', 'CT'],
  ['CT 03-15', 'CT'],
  // Not dates: fractions, ratios with a unit, sequences, decimals,
  // ranges, month words inside other words, metal artifact reduction.
  ['1/2 dose', '1/2 dose'],
  ['3/4 view', '3/4 view'],
  ['T1/T2 axial', 'T1/T2 axial'],
  ['5/10 mm', '5/10 mm'],
  ['5/10mm', '5/10mm'],
  ['10/20 HU', '10/20 HU'],
  ['pitch 0.5/1', 'pitch 0.5/1'],
  ['slice 1.5.', 'slice 1.5.'],
  ['L4-5 C3-C5 3-15', 'L4-5 C3-C5 3-15'],
  ['Marker 15', 'Marker 15'],
  ['MAYO 12', 'MAYO 12'],
  ['Head O-MAR 2', 'Head O-MAR 2'],
  ['Smart MAR 3', 'Smart MAR 3'],
  ['CT CHEST W/O CONTRAST', 'CT CHEST W/O CONTRAST'],
];

describe('Clean Descriptors removes ages in their English forms', () => {
  for (const [text, kept] of AGES)
    it(`"${text}" keeps "${kept}"`, () => {
      assert.equal(cleanText(text, undefined), kept);
    });
});

describe('Clean Descriptors removes month and day without a year', () => {
  for (const [text, kept] of DATES)
    it(`"${text}" keeps "${kept}"`, () => {
      assert.equal(cleanText(text, undefined), kept);
    });
});

const CT = join(CT_TEST, ...['P0002', 'ST02', 'SE02', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-shapes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Clean Descriptors on the trial objects', () => {
  it('removes the age and the date the descriptors hold, and sync accepts what is left', () => {
    const file = join(dir, 'ct.dcm');
    copyFileSync(CT, file);
    execFileSync('dcmodify', [
      '-nb',
      '-q',
      '-i',
      '(0008,1030)=CT 93-year-old',
      '-i',
      '(0008,103e)=CT 3/15 f/u',
      '-i',
      '(0018,1030)=CHEST 15 March abdomen',
      file,
    ]);
    const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 13)));
    const parsed = parseDicom(
      deid.deidentify(parseDicom(readFileSync(file))).bytes,
    );
    const out = parsed.body;
    const read = (tag: number) =>
      readString(out.buffer, findElement(out.elements, tag), [])?.trim();
    assert.equal(read(0x00081030), 'CT');
    assert.equal(read(0x0008103e), 'CT f/u');
    assert.equal(read(0x00181030), 'CHEST abdomen');
    assert.equal(verifyDeidentified(parsed), undefined);
  });
});
