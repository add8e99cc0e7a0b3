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
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_FILE } from './fixtures';

// Trial: a patient name in ISO 8859-1 under ISO_IR 100 and a Study
// Description holding it in UTF-8 bytes (a common mislabelling) kept the
// name; a Specific Character Set `ISO_IR 100\ZQMRN77001` was kept as it
// came, and a receiving lake took it over sync. Planted with dcmodify in
// a CT of the generated corpus (ISO_IR 100), raw bytes from files; the
// bytes are written out by hand from the ISO 8859-1 table and UTF-8 (Ü is
// DC, and C3 9C; ü is FC, and C3 BC; Ö is D6, and C3 96; Å is C5, and C3
// 85). Outputs are read by dcmdump, which prints values as raw bytes.

const dir = mkdtempSync(join(tmpdir(), 'lpacs-mis-encoded-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)));

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
/** Padded to an even length with a space, as a text value is (PS3.5 6.2). */
const even = (b: Buffer) => (b.length % 2 ? Buffer.concat([b, hex('20')]) : b);

// MÜLLERZQ^JÜRGEN
const NAME_LATIN1 = hex('4d dc 4c 4c 45 52 5a 51 5e 4a dc 52 47 45 4e');
const NAME_UTF8 = hex('4d c3 9c 4c 4c 45 52 5a 51 5e 4a c3 9c 52 47 45 4e');
// CT MÜLLERZQ
const DESC_LATIN1 = hex('43 54 20 4d dc 4c 4c 45 52 5a 51');
const DESC_UTF8 = hex('43 54 20 4d c3 9c 4c 4c 45 52 5a 51');

/**
 * A copy of the CT with `set` as its Specific Character Set and each
 * element of `values` given those bytes (dcmodify -mf / -if from a file).
 */
function planted(
  name: string,
  set: string,
  values: Record<string, Buffer>,
  more: string[] = [],
): string {
  const path = join(dir, `${name}.dcm`);
  copyFileSync(CT_FILE, path);
  const edits = ['-m', `(0008,0005)=${set}`, ...more];
  for (const [tag, bytes] of Object.entries(values)) {
    const file = join(dir, `${name}-${tag.replace(/[^0-9a-f]/gi, '')}.bin`);
    writeFileSync(file, even(bytes));
    edits.push('-if', `${tag}=${file}`);
  }
  execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  return path;
}

/** De-identifies a file; the output's path, bytes and notices. */
function run(path: string) {
  const outcome = deid.deidentify(parseDicom(readFileSync(path)));
  const out = path.replace(/\.dcm$/, '-out.dcm');
  const bytes = Buffer.from(outcome.bytes);
  writeFileSync(out, bytes);
  return { out, bytes, notices: outcome.notices ?? [] };
}

/** dcmdump's value of a tag (`gggg,eeee`, may name an item path), raw bytes as latin1. */
function value(path: string, tag: string): string | undefined {
  const dump = execFileSync('dcmdump', ['-q', '+P', tag, path], {
    encoding: 'latin1',
  });
  return /\[(.*)\]/.exec(dump)?.[1] ?? (dump.trim() ? '' : undefined);
}

const notice = (tag: string, set: string) =>
  `${tag} holds bytes that are not text of ${set}, the character set (0008,0005) declares: read as declared, and cleaned of names in their mis-encoded forms too`;

describe('names in mislabelled bytes', () => {
  it('cleans a descriptor in UTF-8 under ISO_IR 100 of a Latin-1 name, kept text too, with a notice each', () => {
    const input = planted('utf8-under-100', 'ISO_IR 100', {
      '(0010,0010)': NAME_LATIN1,
      '(0008,1030)': DESC_UTF8,
      // Jürgen axial: ü in small letters is C3 BC, other bytes than Ü's.
      '(0008,103e)': hex('4a c3 bc 72 67 65 6e 20 61 78 69 61 6c'),
      // SOMATOM MÜLLERZQ, a kept text the table does not list.
      '(0008,1090)': hex('53 4f 4d 41 54 4f 4d 20 4d c3 9c 4c 4c 45 52 5a 51'),
    });
    // dcmdump shows the planted bytes as they are.
    assert.equal(value(input, '0008,1030'), DESC_UTF8.toString('latin1'));
    const { out, notices } = run(input);
    assert.equal(value(out, '0008,0005'), 'ISO_IR 100');
    assert.equal(value(out, '0008,1030'), 'CT');
    assert.equal(value(out, '0008,103e'), 'axial');
    assert.equal(value(out, '0008,1090'), 'SOMATOM');
    assert.deepEqual(
      notices.filter((n) => n.includes('not text of')),
      [
        notice('(0008,1030)', 'ISO_IR 100'),
        notice('(0008,103E)', 'ISO_IR 100'),
        notice('(0008,1090)', 'ISO_IR 100'),
      ],
    );
  });

  it('cleans a descriptor in Latin-1 under ISO_IR 192 of a UTF-8 name', () => {
    const input = planted('latin1-under-192', 'ISO_IR 192', {
      // BÖHMZQ^ÅSA in UTF-8
      '(0010,0010)': hex('42 c3 96 48 4d 5a 51 5e c3 85 53 41'),
      // CT BÖHMZQ in ISO 8859-1
      '(0008,1030)': hex('43 54 20 42 d6 48 4d 5a 51'),
    });
    const { out, notices } = run(input);
    assert.equal(value(out, '0008,1030'), 'CT');
    assert.ok(notices.includes(notice('(0008,1030)', 'ISO_IR 192')));
  });

  it('reads a name in UTF-8 under ISO_IR 100 as UTF-8 too', () => {
    const input = planted('name-utf8-under-100', 'ISO_IR 100', {
      '(0010,0010)': NAME_UTF8,
      '(0008,1030)': DESC_LATIN1,
    });
    assert.equal(value(run(input).out, '0008,1030'), 'CT');
  });

  it('reads a name in Latin-1 under ISO_IR 192 as Latin-1 too', () => {
    const input = planted('name-latin1-under-192', 'ISO_IR 192', {
      '(0010,0010)': NAME_LATIN1,
      '(0008,1030)': DESC_UTF8,
    });
    assert.equal(value(run(input).out, '0008,1030'), 'CT');
  });

  it('gives no notice for text in the set its label names', () => {
    const input = planted('latin1-under-100', 'ISO_IR 100', {
      '(0010,0010)': NAME_LATIN1,
      // Thorax Übersicht MÜLLERZQ
      '(0008,1030)': Buffer.concat([
        hex('54 68 6f 72 61 78 20 dc 62 65 72 73 69 63 68 74 20'),
        hex('4d dc 4c 4c 45 52 5a 51'),
      ]),
    });
    const { out, notices } = run(input);
    assert.equal(
      value(out, '0008,1030'),
      hex('54 68 6f 72 61 78 20 dc 62 65 72 73 69 63 68 74').toString('latin1'),
    );
    assert.deepEqual(
      notices.filter((n) => n.includes('not text of')),
      [],
    );
  });
});

describe('Specific Character Set values that are no Defined Term', () => {
  const removed = (n: number, as: string) =>
    `(0008,0005) SpecificCharacterSet held ${n} value(s) that are no Defined Term of PS3.3 C.12.1.1.2: removed, its text read as ${as}`;

  it('keeps the Defined Terms alone, and reads the text by them', () => {
    const input = planted(
      'term-id',
      'ISO_IR 100\\ZQMRN77001',
      {
        '(0010,0010)': NAME_LATIN1,
        '(0008,1030)': Buffer.concat([
          DESC_LATIN1,
          hex('20 74 68 6f 72 61 78'),
        ]),
      },
      ['-m', '(0010,0020)=ZQMRN77001'],
    );
    assert.equal(value(input, '0008,0005'), 'ISO_IR 100\\ZQMRN77001');
    const { out, bytes, notices } = run(input);
    assert.equal(value(out, '0008,0005'), 'ISO_IR 100');
    assert.equal(value(out, '0008,1030'), 'CT thorax');
    assert.ok(!bytes.toString('latin1').includes('ZQMRN77001'));
    assert.ok(notices.includes(removed(1, 'ISO_IR 100')), notices.join('\n'));
    assert.ok(!notices.join('\n').includes('ZQMRN77001'));
    assert.equal(verifyDeidentified(parseDicom(bytes)), undefined);
  });

  it('removes one that names no set at all: the text is the default repertoire', () => {
    const input = planted('term-name', 'ZQFAMKOV', {}, [
      '-m',
      '(0010,0010)=ZQFAMKOV^ZQGIVNEL',
    ]);
    const { out, bytes, notices } = run(input);
    assert.equal(value(out, '0008,0005'), undefined);
    assert.ok(!bytes.toString('latin1').includes('ZQFAMKOV'));
    assert.ok(notices.includes(removed(1, 'the default repertoire')));
    assert.equal(verifyDeidentified(parseDicom(bytes)), undefined);
  });

  it('does the same in a sequence item, and writes a loose spelling as the standard does', () => {
    const input = planted('term-item', 'iso_ir 100', {}, [
      '-i',
      '(0008,1140)[0].(0008,0005)=ISO_IR 192\\ZQITEM77',
    ]);
    const { out, bytes, notices } = run(input);
    assert.equal(value(out, '0008,0005'), 'ISO_IR 100');
    assert.equal(value(out, '0008,1140[0].0008,0005'), 'ISO_IR 192');
    assert.ok(!bytes.toString('latin1').includes('ZQITEM77'));
    // Respelt, nothing dropped: no notice for the top level.
    assert.deepEqual(
      notices.filter((n) => n.includes('Defined Term')),
      [removed(1, 'ISO_IR 192')],
    );
    assert.equal(verifyDeidentified(parseDicom(bytes)), undefined);
  });
});

describe('verifyDeidentified and Specific Character Set', () => {
  const original = run(planted('verify', 'ISO_IR 100', {})).bytes;
  /** The output with dcmodify's edits, its file meta and preamble as lpacs wrote them. */
  function edited(edits: string[]): Buffer {
    const path = join(dir, 'verify-edited.dcm');
    writeFileSync(path, original);
    execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
    const out = readFileSync(path);
    const end = (b: Buffer) => 144 + b.readUInt32LE(140);
    return Buffer.concat([
      original.subarray(0, end(original)),
      out.subarray(end(out)),
    ]);
  }
  const WHY =
    '(0008,0005) SpecificCharacterSet holds a value that is not a Defined Term of PS3.3 C.12.1.1.2 as lpacs writes them';

  it('passes the Defined Terms lpacs writes', () => {
    assert.equal(verifyDeidentified(parseDicom(original)), undefined);
    for (const set of ['ISO_IR 192', '\\ISO 2022 IR 87', 'GB18030'])
      assert.equal(
        verifyDeidentified(parseDicom(edited(['-m', `(0008,0005)=${set}`]))),
        undefined,
        set,
      );
  });

  it('refuses any other value, naming the attribute and never the value', () => {
    for (const edit of [
      ['-m', '(0008,0005)=ISO_IR 100\\PLNT77001'],
      ['-m', '(0008,0005)=PLNTROE'],
      ['-m', '(0008,0005)=iso_ir 100'],
      ['-i', '(0008,1140)[0].(0008,0005)=ISO_IR 100\\PLNT'],
    ])
      assert.equal(verifyDeidentified(parseDicom(edited(edit))), WHY, edit[1]);
  });
});
