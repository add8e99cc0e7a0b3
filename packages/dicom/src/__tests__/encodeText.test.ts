import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeText, encodeText } from '../index';

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
