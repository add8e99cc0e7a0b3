import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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

// Found by dciodvfy on pydicom's test files through ingest: a patient
// named CQ500-CT-310 (693_J2KI.dcm) or Test^S R (test-SR.dcm) had
// Modality CT or SR emptied, a type 1 attribute, because a code holding
// a name part as a word of its own was emptied whatever its length.

const dir = mkdtempSync(join(tmpdir(), 'lpacs-short-codes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 4)));

/** dcmodify's edits on a copy of the corpus CT, de-identified; dcmdump of both. */
function run(name: string, edits: string[]): { input: string; output: string } {
  const input = join(dir, `${name}.dcm`);
  copyFileSync(CT_FILE, input);
  execFileSync('dcmodify', ['-nb', '-q', ...edits, input]);
  const output = join(dir, `${name}-out.dcm`);
  writeFileSync(output, deid.deidentify(parseDicom(readFileSync(input))).bytes);
  const dump = (p: string) =>
    execFileSync(
      'dcmdump',
      [
        '-q',
        '+P',
        '0008,0060',
        '+P',
        '0018,0015',
        '+P',
        '0008,1032.0008,0100',
        p,
      ],
      { encoding: 'latin1' },
    );
  return { input: dump(input), output: dump(output) };
}

describe('codes of one or two characters and name parts that read the same', () => {
  it('keeps Modality CT and SR, and still empties a code that is a longer name part', () => {
    const ct = run('cq500', [
      ...['-m', '(0010,0010)=CQ500-CT-310', '-m', '(0010,0020)=CQ500-CT-310'],
      ...['-m', '(0018,0015)=CQ500'],
      ...['-i', '(0008,1032)[0].(0008,0100)=CT'],
    ]);
    assert.match(ct.input, /\(0008,0060\) CS \[CT\]/);
    assert.match(ct.output, /\(0008,0060\) CS \[CT\]/);
    assert.match(ct.output, /\(0008,0100\) SH \[CT\]/);
    // CQ500 is the name's (and ID's) first part: the code goes.
    assert.match(ct.input, /\(0018,0015\) CS \[CQ500\]/);
    assert.match(ct.output, /\(0018,0015\) CS \(no value available\)/);
    const sr = run('sr', [
      ...['-m', '(0010,0010)=Test^S R', '-m', '(0008,0060)=SR'],
    ]);
    assert.match(sr.output, /\(0008,0060\) CS \[SR\]/);
  });
});

/** dciodvfy's error lines for a file, values blanked. */
function dciodvfyErrors(path: string): string[] {
  const r = spawnSync('dciodvfy', [path], { encoding: 'latin1' });
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.startsWith('Error'))
    .map((l) => l.replace(/<[^>]*>/g, '<v>'));
}

describe('a label the Basic Profile gives D, cleaned away under Clean Descriptors', () => {
  // Debian python3-pydicom's RT Plan: RT Plan Label (300A,0002) "Plan1"
  // and Structure Set Label (3006,0002) "sep30" (the study ID) are D in
  // the Basic Profile and C under Clean Descriptors; neither is a kept
  // descriptor, so cleaning empties them, and both are type 1 (PS3.3
  // C.8.8.9, C.8.8.5).
  const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
  for (const [file, tag] of [
    ['rtplan.dcm', '300a,0002'],
    ['rtstruct.dcm', '3006,0002'],
  ] as const) {
    it(`writes the dummy, not an empty value, in ${file} (${tag}), and adds no dciodvfy error`, () => {
      const input = join(PYDICOM, file);
      const output = join(dir, `out-${file}`);
      writeFileSync(
        output,
        deid.deidentify(parseDicom(readFileSync(input))).bytes,
      );
      const value = (p: string) =>
        execFileSync('dcmdump', ['-q', '+P', tag, p], { encoding: 'latin1' });
      assert.match(value(input), /SH \[(Plan1|sep30)\]/);
      assert.match(value(output), /SH \[ANONYMIZED\]/);
      const before = new Set(dciodvfyErrors(input));
      assert.deepEqual(
        dciodvfyErrors(output).filter((e) => !before.has(e)),
        [],
      );
    });
  }
});
