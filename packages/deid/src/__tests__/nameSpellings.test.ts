import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findElement, parseDicom, readStrings } from '@lpacs/dicom';
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { identifierPattern } from '../cleanText';
import { readIdentity } from '../identity';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_TEST } from './fixtures';

// Privacy trial: descriptors typed on an ASCII keyboard kept the
// patient's own name (MÜLLER as MUELLER or MULLER, O'BRIEN as OBRIEN).
// Each case plants a PatientName and three descriptors with dcmodify
// into a CT of the generated corpus, in the bytes of its Specific
// Character Set, and de-identifies it under the research default.

const CT = join(CT_TEST, ...['P0002', 'ST02', 'SE02', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-spellings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STUDY = 0x00081030;
const SERIES = 0x0008103e;
const PROTOCOL = 0x00181030;

interface Case {
  charset: 'ISO_IR 100' | 'ISO_IR 192' | '';
  name: string;
  /** Descriptors as typed, and what must stay of each (by hand). */
  typed: Array<[tag: number, value: string, kept: string]>;
  /** Spellings of the name that must not survive, in any case. */
  gone: string[];
}

const CASES: Case[] = [
  {
    charset: 'ISO_IR 100',
    name: 'MÜLLER^JÜRGEN',
    typed: [
      [STUDY, 'JURGEN MUELLER axial', 'axial'],
      [SERIES, 'CT MULLER chest', 'CT chest'],
      [PROTOCOL, 'Kopf Juergen Müller', 'Kopf'],
    ],
    gone: ['MULLER', 'MUELLER', 'JURGEN', 'JUERGEN', 'MÜLLER'],
  },
  {
    charset: 'ISO_IR 100',
    name: 'GARCÍA^JOSÉ',
    typed: [
      [STUDY, 'GARCIA head', 'head'],
      [SERIES, 'JOSE chest', 'chest'],
      [PROTOCOL, 'García José knee', 'knee'],
    ],
    gone: ['GARCIA', 'JOSE', 'GARCÍA', 'JOSÉ'],
  },
  {
    charset: '',
    name: "O'BRIEN^SEAN",
    typed: [
      [STUDY, 'CT OBRIEN', 'CT'],
      [SERIES, 'O BRIEN axial', 'axial'],
      [PROTOCOL, "CT O'BRIEN", 'CT'],
    ],
    gone: ['BRIEN', 'SEAN'],
  },
  {
    charset: 'ISO_IR 192',
    name: "O'QRBRIEN-QRSMYTHE^ANNA",
    typed: [
      [STUDY, 'CT O’QRBRIEN', 'CT'],
      [SERIES, 'QRSMYTHE axial', 'axial'],
      [PROTOCOL, "QRSMYTHE O'QRBRIEN pelvis", 'pelvis'],
    ],
    gone: ['QRBRIEN', 'QRSMYTHE'],
  },
  {
    charset: 'ISO_IR 192',
    name: 'NGUYỄN^VĂN',
    typed: [
      [STUDY, 'NGUYEN chest', 'chest'],
      [SERIES, 'VAN axial', 'axial'],
      [PROTOCOL, 'Nguyễn Văn liver', 'liver'],
    ],
    gone: ['NGUYEN', 'VAN', 'NGUYỄN', 'VĂN'],
  },
  {
    // Registered in ASCII, typed with the letters of the language.
    charset: 'ISO_IR 100',
    name: 'MUELLER^HANS',
    typed: [
      [STUDY, 'Müller spine', 'spine'],
      [SERIES, 'MULLER HANS abdomen', 'abdomen'],
      // Nothing left: Protocol Name is X/D in the Basic Profile (type 1
      // in some IOD), so it gets D's dummy rather than an empty value.
      [PROTOCOL, 'MUELLER', 'ANONYMIZED'],
    ],
    gone: ['MULLER', 'MUELLER', 'MÜLLER', 'HANS'],
  },
  {
    charset: 'ISO_IR 100',
    name: 'GROß^SØREN',
    typed: [
      [STUDY, 'GROSS wrist', 'wrist'],
      [SERIES, 'SOREN SOEREN hand', 'hand'],
      [PROTOCOL, 'Groß Søren foot', 'foot'],
    ],
    gone: ['GROSS', 'GROß', 'SOREN', 'SOEREN', 'SØREN'],
  },
  // Typed the other way: registered without the separator a person
  // types (re-trial of a16c46d: each of these survived).
  {
    charset: '',
    name: 'OBRIEN^SEAN',
    typed: [
      [STUDY, "O'BRIEN axial", 'axial'],
      [SERIES, 'O BRIEN chest', 'chest'],
      [PROTOCOL, 'O-BRIEN head', 'head'],
    ],
    gone: ['BRIEN'],
  },
  {
    charset: 'ISO_IR 100',
    name: 'MCDONALD^RUAIRÍ',
    typed: [
      [STUDY, 'MC DONALD axial', 'axial'],
      [SERIES, 'Mc Donald head', 'head'],
      [PROTOCOL, "Mc'Donald Ruairi knee", 'knee'],
    ],
    gone: ['DONALD', 'RUAIRI'],
  },
  {
    // A family name of several words, typed run together.
    charset: '',
    name: 'DE LA CRUZ^MARIA',
    typed: [
      [STUDY, 'DELACRUZ chest', 'chest'],
      [SERIES, 'Dela Cruz axial', 'axial'],
      [PROTOCOL, 'DE-LA-CRUZ head', 'head'],
    ],
    gone: ['CRUZ', 'DELA'],
  },
  {
    // Family and given names of two letters, run together.
    charset: '',
    name: 'NG^WU',
    typed: [
      [STUDY, 'NGWU head', 'head'],
      [SERIES, 'Wu Ng chest', 'chest'],
      [PROTOCOL, 'WU-NG axial', 'axial'],
    ],
    gone: ['NGWU', 'WUNG', 'WU-NG'],
  },
  {
    // Capital sharp s (U+1E9E), which toUpperCase keeps: typed SS.
    charset: 'ISO_IR 192',
    name: 'STRAẞE^ANNA',
    typed: [
      [STUDY, 'STRASSE chest', 'chest'],
      [SERIES, 'Straße axial', 'axial'],
      [PROTOCOL, 'STRAẞE head', 'head'],
    ],
    gone: ['STRASSE', 'STRAßE', 'STRAẞE'],
  },
];

/** Writes a value for dcmodify -if in the bytes of the charset, padded even. */
function valueFile(name: string, value: string, charset: string): string {
  const bytes = Buffer.from(
    value,
    charset === 'ISO_IR 100' ? 'latin1' : 'utf8',
  );
  const file = join(dir, name);
  writeFileSync(
    file,
    bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes,
  );
  return file;
}

function tagPath(tag: number): string {
  const hex = tag.toString(16).padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function plant(c: Case, index: number): Buffer {
  const file = join(dir, `case${index}.dcm`);
  copyFileSync(CT, file);
  const args = ['-nb', '-q'];
  if (c.charset) args.push('-i', `(0008,0005)=${c.charset}`);
  args.push('-if', `(0010,0010)=${valueFile(`n${index}`, c.name, c.charset)}`);
  for (const [tag, value] of c.typed)
    args.push(
      '-if',
      `${tagPath(tag)}=${valueFile(`v${index}-${tag}`, value, c.charset)}`,
    );
  execFileSync('dcmodify', [...args, file]);
  return readFileSync(file);
}

describe('Clean Descriptors matches the patient name as a person types it', () => {
  const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 11)));
  CASES.forEach((c, i) => {
    it(`removes ${c.name} as typed in ${c.typed.map((t) => `"${t[1]}"`).join(', ')}`, () => {
      const input = parseDicom(plant(c, i));
      // The input carries the name and the descriptors as planted.
      const cs = c.charset ? [c.charset] : [];
      const read = (ds: typeof input.body, tag: number, charsets: string[]) =>
        readStrings(ds.buffer, findElement(ds.elements, tag), charsets)
          .join('\\')
          .trim();
      assert.equal(read(input.body, 0x00100010, cs), c.name);
      for (const [tag, value] of c.typed)
        assert.equal(read(input.body, tag, cs), value);
      const output = deid.deidentify(input).bytes;
      const out = parseDicom(output);
      const outCs = readStrings(
        out.body.buffer,
        findElement(out.body.elements, 0x00080005),
      );
      for (const [tag, , kept] of c.typed) {
        const value = read(out.body, tag, outCs);
        assert.equal(value, kept, `${tagPath(tag)} "${value}"`);
        for (const g of c.gone)
          assert.ok(!value.toUpperCase().includes(g), `${g} in "${value}"`);
      }
      assert.equal(verifyDeidentified(out), undefined);
    });
  });

  it('keeps one pattern per patient: the same lists give the same RegExp', () => {
    const input = parseDicom(plant(CASES[0]!, 99));
    const a = readIdentity(input.body, ['ISO_IR 100']);
    const b = readIdentity(input.body, ['ISO_IR 100']);
    assert.equal(a.identifiers, b.identifiers);
    assert.equal(
      identifierPattern(a.identifiers, a.wholeWords),
      identifierPattern(b.identifiers, b.wholeWords),
    );
  });
});
