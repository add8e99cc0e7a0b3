import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findElement, parseDicom, readString } from '@lpacs/dicom';
import { Deidentifier, SiteKeys, cleanText } from '../index';
import { ACCEPT_UNMARKED_SC } from './acceptUnmarkedSc';

// Shared case 02: descriptors a tester wrote with the patient's own
// identifiers (Smith-Jones^John, born 1961-08-21) in common free-text forms.
const DIR = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'test',
  'data',
  'clean-descriptors',
);
// The cases are secondary captures without BurnedInAnnotation.
const deid = new Deidentifier(
  new SiteKeys(Buffer.alloc(32, 6)),
  ACCEPT_UNMARKED_SC,
);
const FORBIDDEN = [
  'SMITH',
  'JONES',
  'JOHN',
  'MÜLLER',
  'JÖRG',
  '1961',
  'AUG',
  '867',
  '5309',
  '078-05',
  '@',
  'ELM ROAD',
  '101 YEARS',
];
const FREE_TEXT = [
  0x00104000, 0x00102180, 0x001021b0, 0x00324000, 0x00102000, 0x00380500,
  0x00204000,
];

describe('Clean Descriptors on planted free text', () => {
  for (const name of readdirSync(DIR).filter((f) => f.endsWith('.dcm'))) {
    it(`leaves no identifier in the descriptors of ${name}`, () => {
      const out = parseDicom(
        deid.deidentify(parseDicom(readFileSync(join(DIR, name)))).bytes,
      ).body;
      const charsets = ['ISO_IR 192'];
      for (const tag of [0x00081030, 0x0008103e]) {
        const value = (
          readString(out.buffer, findElement(out.elements, tag), charsets) ?? ''
        )
          .normalize('NFC')
          .toUpperCase();
        for (const f of FORBIDDEN)
          assert.ok(!value.includes(f), `${f} in "${value}"`);
        assert.ok(!/\d{3}/.test(value), `digits in "${value}"`);
      }
      for (const tag of FREE_TEXT) {
        assert.equal(
          readString(out.buffer, findElement(out.elements, tag)),
          undefined,
          `free text ${tag.toString(16)} kept`,
        );
      }
    });
  }

  it('keeps the clinical wording', () => {
    assert.equal(
      cleanText('CT CHEST W/O CONTRAST 5MM', ['DOE^JANE']),
      'CT CHEST W/O CONTRAST 5MM',
    );
    assert.equal(
      cleanText('MR KNEE LEFT for DOE JANE', ['DOE^JANE', 'DOE', 'JANE']),
      'MR KNEE LEFT for',
    );
  });

  it("cleans one text by each patient's own identifiers, not by the last patient's", () => {
    // Results are kept per pattern: the same descriptor seen for two
    // patients must be cleaned of each one's name.
    const text = 'CHEST FOR DOE AND ROE';
    assert.equal(cleanText(text, ['DOE']), 'CHEST FOR AND ROE');
    assert.equal(cleanText(text, ['ROE']), 'CHEST FOR DOE AND');
    assert.equal(cleanText(text, ['DOE']), 'CHEST FOR AND ROE');
    // Identifier lists that a plain join would make alike.
    assert.equal(cleanText(text, ['DOE\0AND']), text);
    assert.equal(cleanText(text, ['DOE', 'AND']), 'CHEST FOR ROE');
    assert.equal(cleanText(text, ['DOE\0AND']), text);
  });

  it('matches names in either Unicode normal form', () => {
    const nfd = 'Kopf Mu\u0308ller'.normalize('NFD');
    assert.equal(cleanText(nfd, ['Müller']), 'Kopf');
  });
});

describe('Clean Descriptors and a person name of two letters', () => {
  it('removes it as a whole word only, as it does a two-letter part of a longer name', () => {
    // An operator known by initials: OperatorsName "RT", planted by
    // dcmodify into a CT of the generated corpus. By hand: the word RT
    // goes; PORTAL and ARTERIAL, which hold the letters, stay.
    const dir = mkdtempSync(join(tmpdir(), 'lpacs-initials-'));
    try {
      const file = join(dir, 'initials.dcm');
      copyFileSync(
        join(
          __dirname,
          ...['..', '..', '..', '..', 'datasets', 'cache', 'ct-test'],
          ...['P0002', 'ST02', 'SE02', 'CT000001.dcm'],
        ),
        file,
      );
      execFileSync('dcmodify', [
        '-nb',
        '-q',
        ...['-i', '(0008,1070)=RT'],
        ...['-i', '(0008,103e)=PORTAL ARTERIAL RT'],
        file,
      ]);
      const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 8)));
      const out = parseDicom(
        deid.deidentify(parseDicom(readFileSync(file))).bytes,
      ).body;
      assert.equal(
        readString(out.buffer, findElement(out.elements, 0x0008103e)),
        'PORTAL ARTERIAL',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Clean Descriptors and names nested in sequences', () => {
  it("cleans each object of one patient by its own nested names, not by the last object's", () => {
    // Two files of one patient, study and series (copies of one CT of the
    // generated corpus, changed by dcmodify) that differ only in a name
    // inside Request Attributes Sequence and in Content Sequence. The
    // pattern is memoized: its key must hold those names too.
    const dir = mkdtempSync(join(tmpdir(), 'lpacs-nested-names-'));
    try {
      const ct = join(
        __dirname,
        '..',
        '..',
        '..',
        '..',
        'datasets',
        'cache',
        'ct-test',
        'P0002',
        'ST02',
        'SE02',
        'CT000001.dcm',
      );
      const plant = (name: string, nested: string, content: string) => {
        const file = join(dir, name);
        copyFileSync(ct, file);
        execFileSync('dcmodify', [
          '-nb',
          '-q',
          ...['-m', '(0008,103e)=by ZZALPHA ZZBETA ZZGAMMA ZZDELTA'],
          ...['-i', `(0040,0275)[0].(0032,1032)=${nested}^AA`],
          ...['-i', '(0040,a730)[0].(0040,a040)=PNAME'],
          ...['-i', `(0040,a730)[0].(0040,a123)=${content}^BB`],
          file,
        ]);
        return parseDicom(readFileSync(file));
      };
      const one = plant('one.dcm', 'ZZALPHA', 'ZZGAMMA');
      const two = plant('two.dcm', 'ZZBETA', 'ZZDELTA');
      const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 7)));
      const series = (file: ReturnType<typeof parseDicom>) => {
        const out = parseDicom(deid.deidentify(file).bytes).body;
        return readString(out.buffer, findElement(out.elements, 0x0008103e));
      };
      assert.equal(series(one), 'by ZZBETA ZZDELTA');
      assert.equal(series(two), 'by ZZALPHA ZZGAMMA');
      assert.equal(series(one), 'by ZZBETA ZZDELTA');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
