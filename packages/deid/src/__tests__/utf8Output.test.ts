import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';

// Inputs written by dump2dcm with text encoded by Python's codecs; outputs
// read by pydicom. Neither shares code with lpacs.

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-utf8-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 8)), {
  ...RESEARCH_DEFAULT,
});

/** A piece of a dump line: ASCII as is, or text in a Python codec. */
type Piece = string | { text: string; codec: string };

function encoded(pieces: Piece[]): Buffer[] {
  const texts = pieces.filter((p) => typeof p !== 'string');
  const hex = execFileSync(
    PYTHON,
    [
      '-c',
      'import json,sys\nfor t,c in json.load(sys.stdin): print(t.encode(c).hex())',
    ],
    {
      input: JSON.stringify(texts.map((t) => [t.text, t.codec])),
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter(Boolean);
  let i = 0;
  return pieces.map((p) =>
    typeof p === 'string'
      ? Buffer.from(p, 'latin1')
      : Buffer.from(hex[i++]!, 'hex'),
  );
}

/** A CT written by dump2dcm from lines whose text pieces are encoded. */
function fixture(name: string, charset: string, lines: Piece[][]): string {
  const uid = `1.2.826.0.1.3680043.9.7783.${name.length}`;
  const head: Piece[][] = [
    [`(0008,0005) CS [${charset}]`],
    ['(0008,0016) UI =CTImageStorage'],
    [`(0008,0018) UI [${uid}.1]`],
  ];
  const tail: Piece[][] = [
    ['(0010,0020) LO [PIDUTF8]'],
    [`(0020,000d) UI [${uid}.2]`],
    [`(0020,000e) UI [${uid}.3]`],
  ];
  const dump = Buffer.concat(
    [...head, ...lines, ...tail].flatMap((l) => [
      ...encoded(l),
      Buffer.from('\n'),
    ]),
  );
  writeFileSync(join(dir, `${name}.dump`), dump);
  const path = join(dir, `${name}.dcm`);
  execFileSync('dump2dcm', ['+te', '-q', join(dir, `${name}.dump`), path]);
  return path;
}

/** The text values pydicom reads from a file, by keyword path. */
function readBack(path: string): Record<string, string> {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      `import json,sys,pydicom
ds = pydicom.dcmread(sys.argv[1])
ds.decode()
out = {}
def walk(d, p):
    for el in d:
        k = p + (el.keyword or str(el.tag))
        if el.VR == 'SQ':
            for i, item in enumerate(el.value): walk(item, f'{k}[{i}].')
        elif el.VR in ('CS','SH','LO','ST','LT','UT','PN','UC'):
            v = el.value
            out[k] = '\\\\'.join(map(str, v)) if isinstance(v, pydicom.multival.MultiValue) else str(v if v is not None else '')
walk(ds, '')
print(json.dumps(out))`,
      path,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as Record<string, string>;
}

/** The raw bytes of a top-level element, by pydicom (no decoding). */
function rawHex(path: string, keyword: string): string {
  return execFileSync(
    PYTHON,
    [
      '-c',
      'import sys,pydicom\nprint(pydicom.dcmread(sys.argv[1]).get_item(sys.argv[2]).value.hex())',
      path,
      keyword,
    ],
    { encoding: 'utf8' },
  ).trim();
}

function deidentified(input: string) {
  const outcome = deid.deidentify(parseDicom(readFileSync(input)));
  const path = input.replace(/\.dcm$/, '-out.dcm');
  writeFileSync(path, outcome.bytes);
  return { path, outcome };
}

const gb = (text: string): Piece => ({ text, codec: 'gb18030' });
const jis = (text: string): Piece => ({ text, codec: 'iso2022_jp' });

describe('text the de-identifier writes under the declared character set', () => {
  it('re-encodes a GB18030 object in UTF-8 when a cleaned descriptor keeps Chinese words, every text element at every depth', () => {
    const input = fixture('gb18030', 'GB18030', [
      ['(0008,0070) LO [', gb('东芝医疗'), ']'],
      ['(0008,1030) LO [', gb('CT 胸部 欧阳'), ']'],
      ['(0008,1032) SQ (Sequence with undefined length)'],
      ['(fffe,e000) na (Item with undefined length)'],
      // This item says its own set: its text is read in ISO 2022 JIS.
      ['(0008,0005) CS [\\ISO 2022 IR 87]'],
      ['(0008,0100) SH [P5-0001]'],
      ['(0008,0102) SH [99LOCAL]'],
      ['(0008,0104) LO [', jis('胸部'), ']'],
      ['(fffe,e00d) na (ItemDelimitationItem)'],
      ['(fffe,e0dd) na (SequenceDelimitationItem)'],
      ['(0008,2218) SQ (Sequence with undefined length)'],
      ['(fffe,e000) na (Item with undefined length)'],
      ['(0008,0100) SH [T-28000]'],
      ['(0008,0102) SH [SRT]'],
      ['(0008,0104) LO [', gb('肺'), ']'],
      ['(fffe,e00d) na (ItemDelimitationItem)'],
      ['(fffe,e0dd) na (SequenceDelimitationItem)'],
      ['(0010,0010) PN [', gb('欧阳^建国'), ']'],
    ]);
    // pydicom reads the input as the expected strings first.
    const before = readBack(input);
    assert.equal(before.StudyDescription, 'CT 胸部 欧阳');
    assert.equal(before['ProcedureCodeSequence[0].CodeMeaning'], '胸部');
    const { path, outcome } = deidentified(input);
    assert.deepEqual(outcome.warnings, []);
    const after = readBack(path);
    assert.equal(after.SpecificCharacterSet, 'ISO_IR 192');
    assert.equal(
      after['ProcedureCodeSequence[0].SpecificCharacterSet'],
      'ISO_IR 192',
    );
    assert.equal(after.StudyDescription, 'CT 胸部'); // the name cleaned away
    assert.equal(after.Manufacturer, '东芝医疗');
    assert.equal(after['ProcedureCodeSequence[0].CodeMeaning'], '胸部');
    assert.equal(after['AnatomicRegionSequence[0].CodeMeaning'], '肺');
    assert.equal(
      after['AnatomicRegionSequence[0].CodingSchemeDesignator'],
      'SRT',
    );
    assert.match(after.PatientName!, /^LP[A-Z2-7]{16}$/);
    // UTF-8 bytes of "CT 胸部" (Python: 'CT 胸部'.encode('utf-8')), 9
    // bytes padded to 10 with a space (PS3.5 6.2).
    assert.equal(rawHex(path, 'StudyDescription'), '435420e883b8e983a820');
  });

  it('re-encodes an ISO 2022 IR 87 object in UTF-8, names of three component groups included', () => {
    const input = fixture('iso2022-jp', '\\ISO 2022 IR 87', [
      ['(0008,0070) LO [', jis('東芝'), ']'],
      ['(0008,1030) LO [', jis('CT 胸部 山田'), ']'],
      [
        '(0008,1050) PN [Yamada^Tarou=',
        jis('山田^太郎'),
        '=',
        jis('やまだ^たろう'),
        ']',
      ],
      ['(0010,0010) PN [Yamada^Tarou=', jis('山田^太郎'), ']'],
    ]);
    const before = readBack(input);
    assert.equal(before.StudyDescription, 'CT 胸部 山田');
    const { path } = deidentified(input);
    const after = readBack(path);
    assert.equal(after.SpecificCharacterSet, 'ISO_IR 192');
    assert.equal(after.StudyDescription, 'CT 胸部');
    assert.equal(after.Manufacturer, '東芝');
    // Performing Physician's Name (0008,1050) is X: gone, in no encoding.
    assert.equal(after.PerformingPhysicianName, undefined);
    assert.doesNotMatch(readFileSync(path).toString('latin1'), /\x1b/);
  });

  it('re-encodes a GBK object in UTF-8 when a cleaned descriptor keeps Chinese words', () => {
    const gbk = (text: string): Piece => ({ text, codec: 'gbk' });
    const input = fixture('gbk', 'GBK', [
      ['(0008,0070) LO [', gbk('东芝医疗'), ']'],
      ['(0008,1030) LO [', gbk('CT 胸部 增强 欧阳'), ']'],
      ['(0010,0010) PN [', gbk('欧阳^建国'), ']'],
    ]);
    assert.equal(readBack(input).StudyDescription, 'CT 胸部 增强 欧阳');
    const { path, outcome } = deidentified(input);
    assert.deepEqual(outcome.warnings, []);
    const after = readBack(path);
    assert.equal(after.SpecificCharacterSet, 'ISO_IR 192');
    assert.equal(after.StudyDescription, 'CT 胸部 增强');
    assert.equal(after.Manufacturer, '东芝医疗');
    // Python: 'CT 胸部 增强'.encode('utf-8').hex(), 16 bytes, no padding.
    assert.equal(
      rawHex(path, 'StudyDescription'),
      '435420e883b8e983a820e5a29ee5bcba',
    );
  });

  it('keeps half-width katakana of ISO_IR 13 (JIS X 0201) in a cleaned descriptor', () => {
    const sjis = (text: string): Piece => ({ text, codec: 'shift_jis' });
    const input = fixture('ir13', 'ISO_IR 13', [
      ['(0008,1030) LO [CT ', sjis('ｷｮｳﾌﾞ ﾔﾏﾀﾞ'), ']'],
      ['(0010,0010) PN [', sjis('ﾔﾏﾀﾞ^ﾀﾛｳ'), ']'],
    ]);
    assert.equal(readBack(input).StudyDescription, 'CT ｷｮｳﾌﾞ ﾔﾏﾀﾞ');
    const { path, outcome } = deidentified(input);
    assert.deepEqual(outcome.warnings, []);
    const after = readBack(path);
    assert.equal(after.StudyDescription, 'CT ｷｮｳﾌﾞ');
    // lpacs has no JIS X 0201 encoder: the object goes out in UTF-8.
    assert.equal(after.SpecificCharacterSet, 'ISO_IR 192');
    // Python: 'CT ｷｮｳﾌﾞ'.encode('utf-8').hex(), 18 bytes.
    assert.equal(
      rawHex(path, 'StudyDescription'),
      '435420efbdb7efbdaeefbdb3efbe8cefbe9e',
    );
  });

  it('keeps the label and its own bytes when the cleaned text fits the set (ISO 8859-1)', () => {
    const input = fixture('latin1', 'ISO_IR 100', [
      [
        '(0008,1030) LO [',
        { text: 'Thorax Übersicht Müller', codec: 'latin-1' },
        ']',
      ],
      ['(0010,0010) PN [', { text: 'Müller^Jörg', codec: 'latin-1' }, ']'],
    ]);
    const { path } = deidentified(input);
    const after = readBack(path);
    assert.equal(after.SpecificCharacterSet, 'ISO_IR 100');
    assert.equal(after.StudyDescription, 'Thorax Übersicht');
    // Ü is DC in ISO 8859-1 (C3 9C would be UTF-8 under the wrong label).
    assert.equal(
      rawHex(path, 'StudyDescription'),
      Buffer.from('Thorax \xdcbersicht', 'latin1').toString('hex'),
    );
  });

  it('keeps the label, drops what the set cannot hold and says so when some kept text does not decode', () => {
    const input = fixture('gb-broken', 'GB18030', [
      // FF is no GB18030 byte: this value cannot be carried into UTF-8.
      ['(0008,0070) LO [ACME', { text: 'ÿ', codec: 'latin-1' }, ' ]'],
      ['(0008,1030) LO [', gb('CT 胸部 欧阳'), ']'],
      ['(0010,0010) PN [', gb('欧阳^建国'), ']'],
    ]);
    const { path, outcome } = deidentified(input);
    assert.ok(
      outcome.notices?.some(
        (n) => /not re-encoded as UTF-8/.test(n) && n.includes('GB18030'),
      ),
    );
    assert.equal(readBack(path).SpecificCharacterSet, 'GB18030');
    assert.equal(rawHex(path, 'StudyDescription'), '4354'); // "CT"
    assert.equal(rawHex(path, 'Manufacturer'), '41434d45ff20'); // as it came
  });
});
