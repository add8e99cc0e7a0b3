import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  Tag,
  decodeText,
  encodeText,
  encodeTextExactly,
  findElement,
  parseDicom,
  readStrings,
  valueBytes,
} from '../index';

// Expected bytes from Python's codecs (iso8859_5, _7, _8, _2, latin-1).
describe('encodeText', () => {
  it('writes each ISO 8859 set in its own bytes', () => {
    for (const [text, charset, hex] of [
      ['КТ клетки', 'ISO_IR 144', 'bac220dadbd5e2dad8'],
      ['Διονυσιος', 'ISO_IR 126', 'c4e9efedf5f3e9eff2'],
      ['שרון', 'ISO_IR 138', 'f9f8e5ef'],
      ['Łódź', 'ISO_IR 101', 'a3f364bc'],
      ['Übersicht', 'ISO_IR 100', 'dc6265727369636874'],
    ] as const) {
      const bytes = encodeText(text, [charset]);
      assert.equal(bytes.toString('hex'), hex, charset);
      assert.equal(decodeText(bytes, [charset]), text);
    }
  });

  it('writes UTF-8 under ISO_IR 192', () => {
    assert.equal(
      encodeText('CT 胸部', ['ISO_IR 192']).toString('hex'),
      '435420e883b8e983a8',
    );
  });

  it('drops what the named set cannot hold instead of writing other bytes', () => {
    assert.equal(encodeText('CT 胸部', ['GB18030']).toString(), 'CT ');
    assert.equal(
      encodeText('CT 山田', ['', 'ISO 2022 IR 87']).toString(),
      'CT ',
    );
    assert.equal(encodeText('Ωx', ['ISO_IR 144']).toString(), 'x');
    assert.equal(encodeText('Жx', ['ISO_IR 100']).toString(), 'x');
  });
});

describe('encodeTextExactly', () => {
  it('gives the bytes when every character fits, and undefined when one would be dropped', () => {
    assert.equal(
      encodeTextExactly('КТ', ['ISO_IR 144'])?.toString('hex'),
      'bac2',
    );
    assert.equal(encodeTextExactly('CT', ['GB18030'])?.toString(), 'CT');
    assert.equal(encodeTextExactly('CT 胸部', ['GB18030']), undefined);
    assert.equal(encodeTextExactly('Жx', ['ISO_IR 100']), undefined);
    assert.equal(
      encodeTextExactly('CT 胸部', ['ISO_IR 192'])?.toString('hex'),
      '435420e883b8e983a8',
    );
  });
});

describe('decodeText', () => {
  it('reads an ISO 8859 set named for code extensions (ISO 2022 IR 144) as the set, and writes it back', () => {
    // 'КТ' in ISO 8859-5 (Python: 'КТ'.encode('iso8859_5')).
    const bytes = Buffer.from('bac2', 'hex');
    assert.equal(decodeText(bytes, ['ISO 2022 IR 144']), 'КТ');
    assert.equal(
      encodeTextExactly('КТ', ['ISO 2022 IR 144'])?.toString('hex'),
      'bac2',
    );
  });

  it('reads ISO 2022 IR 13 half-width katakana beside IR 87 kanji as pydicom does (chrH32)', () => {
    const file =
      '/usr/lib/python3/dist-packages/pydicom/data/charset_files/chrH32.dcm';
    const { body } = parseDicom(readFileSync(file));
    const charsets = readStrings(
      body.buffer,
      findElement(body.elements, Tag.SpecificCharacterSet),
    );
    assert.deepEqual(charsets, ['ISO 2022 IR 13', 'ISO 2022 IR 87']);
    const name = findElement(body.elements, Tag.PatientName)!;
    const expected = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys,pydicom\nds=pydicom.dcmread(sys.argv[1]); ds.decode(); sys.stdout.buffer.write(str(ds.PatientName).encode())',
        file,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(expected, 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
    assert.equal(
      decodeText(valueBytes(body.buffer, name), charsets).trim(),
      expected,
    );
  });
});
