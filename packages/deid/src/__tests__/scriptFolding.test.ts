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
import { findElement, parseDicom, readStrings } from '@lpacs/dicom';
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { cleanText, identifierPattern } from '../cleanText';
import { nameTerms } from '../identity';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_TEST } from './fixtures';

// Trial 10: a Greek name typed with its accents in the descriptors
// (ΠΑΠΑΔΟΠΟΥΛΟΣ^ΝΙΚΟΣ as "Παπαδόπουλος", "Νίκος") was kept, as the fold
// dropped marks of Latin letters only. Each expected value is the
// descriptor with the name's words taken out, by hand.

const CT = join(CT_TEST, ...['P0002', 'ST02', 'SE02', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-folding-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STUDY = 0x00081030;
const SERIES = 0x0008103e;
const PROTOCOL = 0x00181030;

/**
 * ISO 8859-7 (ISO_IR 126) bytes of ASCII and Greek text: 0xB6 to 0xFE
 * are U+0386 to U+03CE in order (ISO/IEC 8859-7 code table), 0x2D0 below.
 */
function greekBytes(text: string): Buffer {
  return Buffer.from(
    [...text].map((c) => {
      const cp = c.codePointAt(0)!;
      if (cp < 0x80) return cp;
      assert.ok(cp >= 0x386 && cp <= 0x3ce, c);
      return cp - 0x2d0;
    }),
  );
}

interface Case {
  charset: 'ISO_IR 126' | 'ISO_IR 192';
  name: string;
  /** Descriptors as typed, and what must stay of each (by hand). */
  typed: Array<[tag: number, value: string, kept: string]>;
}

const CASES: Case[] = [
  {
    // The trial's object: ISO_IR 126, the name in capitals without
    // accents, typed in small letters with them.
    charset: 'ISO_IR 126',
    name: 'ΠΑΠΑΔΟΠΟΥΛΟΣ^ΝΙΚΟΣ',
    typed: [
      [STUDY, 'CT Παπαδόπουλος θώρακας', 'CT θώρακας'],
      [SERIES, 'Νίκος axial', 'axial'],
      [PROTOCOL, 'ΝΊΚΟΣ ΠΑΠΑΔΌΠΟΥΛΟΣ κεφαλή', 'κεφαλή'],
    ],
  },
  {
    // Registered with accents (and a final sigma), typed without.
    charset: 'ISO_IR 192',
    name: 'Γεωργίου^Δημήτρης',
    typed: [
      [STUDY, 'ΓΕΩΡΓΙΟΥ θώρακας', 'θώρακας'],
      [SERIES, 'δημητρησ axial', 'axial'],
      [PROTOCOL, 'Dimitris ΔΗΜΗΤΡΗΣ', 'Dimitris'],
    ],
  },
  {
    // Cyrillic with a stress mark (а́ has no composed form: NFC keeps
    // the mark apart), ё typed as е, й typed as и.
    charset: 'ISO_IR 192',
    name: 'ИВАНОВ^ФЁДОР^СЕРГЕЙ',
    typed: [
      [STUDY, 'КТ Ива\u0301нов грудь', 'КТ грудь'],
      [SERIES, 'Федор axial', 'axial'],
      [PROTOCOL, 'голова Сергеи', 'голова'],
    ],
  },
  {
    // Turkish: dotted capital İ and dotless ı, Ş, typed on an ASCII
    // keyboard and in Turkish small letters.
    charset: 'ISO_IR 192',
    name: 'ŞAHİN^İSMAİL',
    typed: [
      [STUDY, 'Sahin head', 'head'],
      [SERIES, 'ismail axial', 'axial'],
      [PROTOCOL, 'şahın knee', 'knee'],
    ],
  },
];

function valueFile(name: string, value: string, charset: string): string {
  const bytes =
    charset === 'ISO_IR 126' ? greekBytes(value) : Buffer.from(value, 'utf8');
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
  const args = ['-nb', '-q', '-i', `(0008,0005)=${c.charset}`];
  args.push('-if', `(0010,0010)=${valueFile(`n${index}`, c.name, c.charset)}`);
  for (const [tag, value] of c.typed)
    args.push(
      '-if',
      `${tagPath(tag)}=${valueFile(`v${index}-${tag}`, value, c.charset)}`,
    );
  execFileSync('dcmodify', [...args, file]);
  return readFileSync(file);
}

describe('Clean Descriptors matches names with and without marks in every script', () => {
  const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 12)));
  CASES.forEach((c, i) => {
    it(`removes ${c.name} (${c.charset}) as typed in ${c.typed.map((t) => `"${t[1]}"`).join(', ')}`, () => {
      const input = parseDicom(plant(c, i));
      const read = (ds: typeof input.body, tag: number, charsets: string[]) =>
        readStrings(ds.buffer, findElement(ds.elements, tag), charsets)
          .join('\\')
          .trim();
      // The input carries the name and the descriptors as planted.
      assert.equal(read(input.body, 0x00100010, [c.charset]), c.name);
      for (const [tag, value] of c.typed)
        assert.equal(read(input.body, tag, [c.charset]), value);
      const out = parseDicom(deid.deidentify(input).bytes);
      const outCs = readStrings(
        out.body.buffer,
        findElement(out.body.elements, 0x00080005),
      );
      for (const [tag, , kept] of c.typed)
        assert.equal(read(out.body, tag, outCs), kept, tagPath(tag));
      assert.equal(verifyDeidentified(out), undefined);
    });
  });
});

/** cleanText with the pattern Deidentifier builds from these names. */
function cleanOf(text: string, ...names: string[]): string {
  const anywhere: string[] = [];
  const whole: string[] = [];
  for (const name of names) {
    const terms = nameTerms(name);
    anywhere.push(...terms.anywhere);
    whole.push(...terms.whole);
  }
  return cleanText(text, identifierPattern(anywhere, whole));
}

describe('the fold cuts the characters of the text, not of its fold', () => {
  it('removes a name with its combining marks, and leaves the marks of other words', () => {
    // Decomposed: e + U+0301 and а + U+0301 are one letter each to a reader.
    assert.equal(
      cleanOf('CT Ива\u0301нов ре\u0301бро', 'ИВАНОВ^ПЕТР'),
      'CT ре\u0301бро',
    );
    assert.equal(cleanOf('Mu\u0308ller Ko\u0308rper', 'MULLER^HANS'), 'Körper');
  });

  it('removes names of several scripts in one text', () => {
    assert.equal(
      cleanOf(
        'Νίκος Ива́нов Müller García θώρακας грудь chest',
        'ΝΙΚΟΣ^ΠΑΠΑΣ',
        'ИВАНОВ^ПЕТР',
        'MULLER^HANS',
        'GARCIA^JOSE',
      ),
      'θώρακας грудь chest',
    );
  });

  it('matches compatibility forms: fullwidth letters, halfwidth kana, ligatures', () => {
    assert.equal(cleanOf('ＭＵＬＬＥＲ 胸部', 'MULLER^HANS'), '胸部');
    assert.equal(cleanOf('ﾔﾏﾀﾞ 胸部', '山田^太郎=ヤマダ^タロウ'), '胸部');
    assert.equal(cleanOf('CT Griﬃth knee', 'GRIFFITH^ANNA'), 'CT knee');
  });

  it('keeps a kana voicing mark and a Hangul syllable as they are', () => {
    // ダ and タ are two syllables: ヤマタ is not the name ヤマダ.
    assert.equal(
      cleanOf('ヤマタ 胸部', '山田^太郎=ヤマダ^タロウ'),
      'ヤマタ 胸部',
    );
    // 김 is not matched across the syllables 기미 (ㄱ ㅣ ㅁ ㅣ).
    assert.equal(cleanOf('기미 CT', '김^민준'), '기미 CT');
    assert.equal(cleanOf('김민준 CT', '김^민준'), 'CT');
  });
});
