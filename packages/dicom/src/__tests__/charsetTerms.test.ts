import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeText,
  decodesAsDeclared,
  definedCharsets,
  encodeText,
  likelyCharsets,
  misreadings,
} from '../index';

// Expected values by hand: the Defined Terms are those of PS3.3
// C.12.1.1.2 (Tables C.12-2 to C.12-5), the bytes those of the ISO 8859
// tables and of UTF-8 (Ü is U+00DC: DC in ISO 8859-1, C3 9C in UTF-8).

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');

describe('definedCharsets: Specific Character Set as lpacs reads and writes it', () => {
  it('keeps every Defined Term of PS3.3 C.12.1.1.2 as written there', () => {
    const terms = [
      ...['100', '101', '109', '110', '144', '127', '126', '138', '148'],
      ...['203', '13', '166'],
    ].flatMap((n) => [`ISO_IR ${n}`, `ISO 2022 IR ${n}`]);
    for (const t of [
      ...terms,
      'ISO 2022 IR 6',
      'ISO_IR 192',
      'GB18030',
      'GBK',
      'ISO_IR 6',
    ])
      assert.deepEqual(definedCharsets([t]), { charsets: [t], dropped: 0 }, t);
    for (const multi of ['87', '159', '149', '58'])
      assert.deepEqual(definedCharsets(['', `ISO 2022 IR ${multi}`]), {
        charsets: ['', `ISO 2022 IR ${multi}`],
        dropped: 0,
      });
  });

  it('drops a value that is no Defined Term, and counts it', () => {
    assert.deepEqual(definedCharsets(['ISO_IR 100', 'ZQMRN77001']), {
      charsets: ['ISO_IR 100'],
      dropped: 1,
    });
    // Nothing known left: the default repertoire, written as no value.
    assert.deepEqual(definedCharsets(['ZQFAMKOV']), {
      charsets: [],
      dropped: 1,
    });
    // A multi-byte set of Table C.12-4 is for values 2 to n: an empty
    // value 1 (ISO 2022 IR 6) stands in for the dropped one.
    assert.deepEqual(definedCharsets(['ZQFAMKOV', 'ISO 2022 IR 87']), {
      charsets: ['', 'ISO 2022 IR 87'],
      dropped: 1,
    });
    // Loose spellings are the same terms, written as the standard does.
    assert.deepEqual(definedCharsets(['iso-ir-100']), {
      charsets: ['ISO_IR 100'],
      dropped: 0,
    });
    assert.deepEqual(definedCharsets([]), { charsets: [], dropped: 0 });
  });

  it('decodes and encodes by the Defined Terms alone', () => {
    // ISO 8859-5 (ISO_IR 144): К is BA, Т C2, space 20, к DA, л DB, е D5,
    // т E2, и D8.
    const cyrillic = hex('bac220dadbd5e2dad8');
    assert.equal(decodeText(cyrillic, ['ZQFAMKOV', 'ISO_IR 144']), 'КТ клетки');
    assert.equal(decodeText(cyrillic, ['ISO_IR 144', 'ZQ']), 'КТ клетки');
    // ISO 8859-1: Ü is DC.
    assert.equal(
      encodeText('Übersicht', ['ISO_IR 100', 'ZQMRN77001']).toString('hex'),
      'dc6265727369636874',
    );
  });
});

describe('decodesAsDeclared: text bytes of the set that labels them', () => {
  const utf8Upper = hex('43 54 20 4d c3 9c 4c 4c 45 52'); // CT MÜLLER
  const utf8Lower = hex('4d c3 bc 6c 6c 65 72'); // Müller
  const latin1 = hex('43 54 20 4d dc 4c 4c 45 52'); // CT MÜLLER

  it('tells UTF-8 under ISO_IR 100 and Latin-1 under ISO_IR 192', () => {
    assert.equal(decodesAsDeclared(latin1, ['ISO_IR 100']), true);
    assert.equal(decodesAsDeclared(utf8Upper, ['ISO_IR 192']), true);
    // 9C is a C1 control, which no ISO 8859 set gives a character.
    assert.equal(decodesAsDeclared(utf8Upper, ['ISO_IR 100']), false);
    // C3 BC reads "Ã¼" in ISO 8859-1, and is UTF-8 of ü.
    assert.equal(decodesAsDeclared(utf8Lower, ['ISO_IR 100']), false);
    // DC starts a two-byte UTF-8 sequence that 4C does not continue.
    assert.equal(decodesAsDeclared(latin1, ['ISO_IR 192']), false);
  });

  it('takes ASCII under every set, and nothing more without one', () => {
    assert.equal(decodesAsDeclared(Buffer.from('CT CHEST'), []), true);
    assert.equal(decodesAsDeclared(Buffer.from('CT CHEST'), ['GBK']), true);
    assert.equal(decodesAsDeclared(latin1, []), false);
    assert.equal(decodesAsDeclared(latin1, ['ZQFAMKOV']), false);
  });

  it('refuses a byte the declared set leaves undefined', () => {
    // ISO 8859-7 (ISO_IR 126) defines no character at D2; Δ is C4.
    assert.equal(decodesAsDeclared(hex('c4 d2'), ['ISO_IR 126']), false);
    assert.equal(decodesAsDeclared(hex('c4 e9'), ['ISO_IR 126']), true);
  });
});

describe('misreadings and likelyCharsets: the usual mislabellings', () => {
  it('writes a name as UTF-8 read under a single-byte set and that set read as UTF-8', () => {
    // C3 9C read as ISO 8859-1 is U+00C3 U+009C; DC read as UTF-8 is one
    // U+FFFD (a lead byte whose next byte does not continue it).
    assert.deepEqual(misreadings('MÜLLER', ['ISO_IR 100']).sort(), [
      'MÃ\u009cLLER',
      'M\ufffdLLER',
    ]);
    // Without a label, and under ISO_IR 192, Latin-1 is the single-byte set.
    assert.deepEqual(
      misreadings('MÜLLER', ['ISO_IR 192']).sort(),
      misreadings('MÜLLER', []).sort(),
    );
    // ISO 8859-2 (ISO_IR 101): Łódź is UTF-8 C5 81 C3 B3 64 C5 BA, which
    // 8859-2 reads Ĺ U+0081 Ă ł d Ĺ ş; its own bytes A3 F3 64 BC read as
    // UTF-8 are a lone continuation, a four-byte lead cut short, d, and a
    // lone continuation.
    assert.deepEqual(misreadings('Łódź', ['ISO_IR 101']).sort(), [
      'Ĺ\u0081ĂłdĹş',
      '\ufffd\ufffdd\ufffd',
    ]);
    assert.deepEqual(misreadings('MULLER', ['ISO_IR 100']), []);
  });

  it('names the set mislabelled bytes are most likely in', () => {
    assert.deepEqual(likelyCharsets(hex('4d c3 9c 4c'), ['ISO_IR 100']), [
      'ISO_IR 192',
    ]);
    assert.deepEqual(likelyCharsets(hex('4d dc 4c'), ['ISO_IR 192']), [
      'ISO_IR 100',
    ]);
    assert.equal(likelyCharsets(hex('4d dc 4c'), ['ISO_IR 100']), undefined);
    assert.equal(likelyCharsets(hex('4d c3 9c 4c'), ['ISO_IR 192']), undefined);
  });
});
