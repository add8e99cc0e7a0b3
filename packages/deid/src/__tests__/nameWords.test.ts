import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findElement, parseDicom, readStrings } from '@lpacs/dicom';
import type { DataSet } from '@lpacs/dicom';
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_TEST } from './fixtures';

// Re-trial of a16c46d: short name parts (an operator TOM, a physician
// ANN, a patient MARY) were removed inside clinical and technical words,
// SOMATOM became SOMA and TOMOGRAPHY OGRAPHY. Short parts are now
// matched as whole words in descriptors, and every Latin name term is
// in kept text; the name as a word of its own still goes.

const CT = join(CT_TEST, ...['P0001', 'ST01', 'SE01', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-namewords-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STUDY = '(0008,1030)';
const SERIES = '(0008,103e)';
const PROTOCOL = '(0018,1030)';
const MODEL = '(0008,1090)';
const MEANING = '(0008,1032)[0].(0008,0104)';
const KERNEL = '(0018,1210)';

function plant(file: string, values: Record<string, string>): DataSet {
  copyFileSync(CT, join(dir, file));
  const args = ['-nb', '-q'];
  for (const [path, value] of Object.entries(values))
    args.push('-i', `${path}=${value}`);
  execFileSync('dcmodify', [...args, join(dir, file)]);
  const input = parseDicom(readFileSync(join(dir, file)));
  const output = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5))).deidentify(
    input,
  ).bytes;
  const out = parseDicom(output);
  assert.equal(verifyDeidentified(out), undefined);
  return out.body;
}

/** A value by its dcmodify path (top level, or item 0 of a sequence). */
function read(ds: DataSet, path: string): string {
  const tags = [...path.matchAll(/\(([0-9a-f]{4}),([0-9a-f]{4})\)/gi)].map(
    (m) => parseInt(m[1]! + m[2]!, 16),
  );
  let elements = ds.elements;
  for (const tag of tags.slice(0, -1))
    elements = findElement(elements, tag)?.items?.[0]?.elements ?? [];
  return readStrings(ds.buffer, findElement(elements, tags.at(-1)!))
    .join('\\')
    .trim();
}

describe('Clean Descriptors leaves words that only contain a short name part', () => {
  // Text with no name in it, as the trial typed it: each must come out
  // as it went in.
  const clinical: Record<string, string> = {
    [STUDY]: 'PRIMARY LANDMARK STUDY',
    [SERIES]: 'TOMOGRAPHY SCANNER CHANNEL',
    [PROTOCOL]: 'ANATOMY BOTTOM SLEEVE',
    [MODEL]: 'SOMATOM Definition AS+',
    [MEANING]: 'CT TOMOGRAPHY CHEST',
    [KERNEL]: 'CROSS B30f',
  };
  const names = {
    '(0010,0010)': 'ROSS^MARY',
    '(0008,1070)': 'BAKER^TOM',
    '(0008,1050)': 'LEE^ANN',
    '(0008,0090)': 'GREEN^MARK',
  };

  it('keeps descriptors and kept text whole when no name is in them', () => {
    const out = plant('clinical.dcm', { ...names, ...clinical });
    for (const [path, value] of Object.entries(clinical))
      assert.equal(read(out, path), value, path);
  });

  it('still removes the short parts as words, and long parts glued in descriptors', () => {
    const out = plant('named.dcm', {
      ...names,
      [STUDY]: 'TOM chest MARY',
      [SERIES]: 'BAKERCHEST axial',
      [PROTOCOL]: 'Lee Ann head',
      [MODEL]: 'SOMATOM BAKER',
      [MEANING]: 'CT chest TOM',
      [KERNEL]: 'ROSS B30f',
    });
    assert.equal(read(out, STUDY), 'chest');
    assert.equal(read(out, SERIES), 'CHEST axial');
    assert.equal(read(out, PROTOCOL), 'head');
    assert.equal(read(out, MODEL), 'SOMATOM');
    assert.equal(read(out, MEANING), 'CT chest');
    assert.equal(read(out, KERNEL), 'B30f');
  });

  it('removes family and given name typed together whole, the short given name too', () => {
    // Final trial: "BAKERTOM" lost BAKER (5 letters, matched anywhere)
    // first and left TOM, which as a part of 4 letters or fewer is
    // matched only as a word of its own.
    const out = plant('together.dcm', {
      ...names,
      [STUDY]: 'BAKERTOM chest',
      [SERIES]: 'ROSSMARY axial',
      [PROTOCOL]: 'MARYROSS head',
    });
    assert.equal(read(out, STUDY), 'chest');
    assert.equal(read(out, SERIES), 'axial');
    assert.equal(read(out, PROTOCOL), 'head');
  });

  it('matches names in kept text as whole words only', () => {
    // A long part glued to another word: gone from a descriptor, kept in
    // a model name, where a name glued in is rarer than a word that
    // holds one ("CROSS" of a patient ROSS above).
    const out = plant('glued.dcm', {
      ...names,
      [STUDY]: 'BAKERY chest',
      [MODEL]: 'BAKERY 64',
    });
    assert.equal(read(out, STUDY), 'Y chest');
    assert.equal(read(out, MODEL), 'BAKERY 64');
  });
});
