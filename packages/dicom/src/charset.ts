import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

/** Single-byte and multi-byte character sets of PS3.3 C.12.1.1.2 by term. */
const DECODERS: Readonly<Record<string, string>> = {
  '': 'latin1', // the default repertoire; latin1 keeps stray bytes readable
  ISO_IR_6: 'latin1',
  ISO_IR_100: 'latin1',
  ISO_IR_101: 'iso-8859-2',
  ISO_IR_109: 'iso-8859-3',
  ISO_IR_110: 'iso-8859-4',
  ISO_IR_144: 'iso-8859-5',
  ISO_IR_127: 'iso-8859-6',
  ISO_IR_126: 'iso-8859-7',
  ISO_IR_138: 'iso-8859-8',
  ISO_IR_148: 'iso-8859-9',
  ISO_IR_203: 'iso-8859-15',
  ISO_IR_13: 'shift_jis',
  ISO_IR_166: 'windows-874',
  ISO_IR_192: 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
  ISO_2022_IR_6: 'latin1',
  ISO_2022_IR_100: 'latin1',
  // The ISO 8859 sets named for code extensions read as their plain forms.
  ISO_2022_IR_101: 'iso-8859-2',
  ISO_2022_IR_109: 'iso-8859-3',
  ISO_2022_IR_110: 'iso-8859-4',
  ISO_2022_IR_144: 'iso-8859-5',
  ISO_2022_IR_127: 'iso-8859-6',
  ISO_2022_IR_126: 'iso-8859-7',
  ISO_2022_IR_138: 'iso-8859-8',
  ISO_2022_IR_148: 'iso-8859-9',
  ISO_2022_IR_203: 'iso-8859-15',
  ISO_2022_IR_166: 'windows-874',
  ISO_2022_IR_87: 'iso-2022-jp',
  ISO_2022_IR_159: 'iso-2022-jp',
  ISO_2022_IR_13: 'iso-2022-jp',
  ISO_2022_IR_149: 'euc-kr',
  ISO_2022_IR_58: 'gb2312',
};

const cache = new Map<string, TextDecoder>();

function decoderFor(label: string): TextDecoder {
  let decoder = cache.get(label);
  if (!decoder) {
    decoder = new TextDecoder(label);
    cache.set(label, decoder);
  }
  return decoder;
}

/** Normalises `ISO 2022 IR 87` and `ISO_IR 100` to one spelling. */
function term(value: string): string {
  return value.trim().toUpperCase().replace(/[ -]/g, '_');
}

/**
 * The Defined Terms of Specific Character Set (0008,0005) in PS3.3
 * C.12.1.1.2, as written there: Table C.12-2 (single-byte, no code
 * extensions), C.12-3 (single-byte with code extensions), C.12-4
 * (multi-byte with code extensions) and C.12-5 (multi-byte without), and
 * `ISO_IR 6`, which writers put for the default repertoire (the table
 * names it by no term). By their normalised spelling (term).
 */
const DEFINED_TERMS: ReadonlyMap<string, string> = new Map(
  [
    'ISO_IR 6',
    ...[
      '100',
      '101',
      '109',
      '110',
      '144',
      '127',
      '126',
      '138',
      '148',
      '203',
    ].flatMap((n) => [`ISO_IR ${n}`, `ISO 2022 IR ${n}`]),
    'ISO_IR 13',
    'ISO_IR 166',
    'ISO 2022 IR 6',
    'ISO 2022 IR 13',
    'ISO 2022 IR 166',
    'ISO 2022 IR 87',
    'ISO 2022 IR 159',
    'ISO 2022 IR 149',
    'ISO 2022 IR 58',
    'ISO_IR 192',
    'GB18030',
    'GBK',
  ].map((t) => [term(t), t]),
);

/** The multi-byte sets of Table C.12-4: value 2 onwards only. */
const MULTI_BYTE_2022: ReadonlySet<string> = new Set([
  'ISO 2022 IR 87',
  'ISO 2022 IR 159',
  'ISO 2022 IR 149',
  'ISO 2022 IR 58',
]);

/** What a Specific Character Set is read and written as (see definedCharsets). */
export interface DefinedCharsets {
  /** The values lpacs reads text by and writes, each a Defined Term. */
  charsets: string[];
  /** Values that were not empty and are no Defined Term: left out. */
  dropped: number;
}

const defined = new Map<string, DefinedCharsets>();
/** The same by the list itself: a walk asks of one list per data set. */
const definedByList = new WeakMap<readonly string[], DefinedCharsets>();

/**
 * A Specific Character Set (0008,0005) as lpacs reads and writes it: each
 * value a Defined Term of PS3.3 C.12.1.1.2 in the standard's spelling
 * (`iso-ir-100` read as `ISO_IR 100`), anything else left out and
 * counted: an unknown term names no set and may carry text (an ID, a
 * name). An empty value 1 of several stays (PS3.3: it is ISO 2022 IR 6),
 * and one is put before a multi-byte set of Table C.12-4 left first, as
 * those are values 2 onwards; an empty value elsewhere goes. What is left
 * of nothing known is `[]`, the default repertoire. decodeText and
 * encodeText read every value list through this, so text is decoded by
 * exactly the sets the written value names.
 */
export function definedCharsets(values: readonly string[]): DefinedCharsets {
  let out = definedByList.get(values);
  if (out) return out;
  const key = values.join('\\');
  out = defined.get(key);
  if (out) {
    definedByList.set(values, out);
    return out;
  }
  const charsets: string[] = [];
  let dropped = 0;
  values.forEach((value, i) => {
    if (value.trim() === '') {
      if (i === 0 && values.length > 1) charsets.push('');
      return;
    }
    const known = DEFINED_TERMS.get(term(value));
    if (known === undefined) dropped++;
    else charsets.push(known);
  });
  if (charsets[0] !== undefined && MULTI_BYTE_2022.has(charsets[0]))
    charsets.unshift('');
  if (charsets.length === 1 && charsets[0] === '') charsets.length = 0;
  out = { charsets, dropped };
  if (defined.size > 1000) defined.clear(); // crafted files: stay bounded
  defined.set(key, out);
  definedByList.set(values, out);
  return out;
}

const ESC = 0x1b;

/**
 * Decodes ISO 2022 Japanese as DICOM writes it (PS3.5 6.1.2.5.3, Table
 * K-1): G0 switched by escapes between ASCII, JIS X 0201 romaji and JIS X
 * 0208 (the WHATWG iso-2022-jp decoder's repertoire), and JIS X 0201
 * katakana designated to G1 (ESC ) I, ISO 2022 IR 13) as bytes A1-DF,
 * which that decoder does not read. Each katakana byte becomes its
 * half-width form (U+FF61 + byte - A1); the text between them goes through
 * the decoder, started again in the G0 set last designated.
 */
function decodeIso2022Japanese(bytes: Uint8Array): string {
  const decoder = decoderFor('iso-2022-jp');
  let out = '';
  let run: number[] = [];
  let g0: number[] = [];
  const flush = () => {
    if (run.length) out += decoder.decode(Uint8Array.from(run));
    run = [...g0];
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === ESC && bytes[i + 1] === 0x29 && bytes[i + 2] === 0x49) {
      i += 2; // ESC ) I: katakana in G1, read below
      continue;
    }
    if (b === ESC) {
      // ESC ( B, ESC ( J, ESC $ @, ESC $ B: the G0 set from here on.
      const length = bytes[i + 1] === 0x24 && bytes[i + 2] === 0x28 ? 4 : 3;
      g0 = [...bytes.subarray(i, i + length)];
      run.push(...g0);
      i += length - 1;
      continue;
    }
    if (b >= 0xa1 && b <= 0xdf) {
      flush();
      out += String.fromCharCode(0xff61 + b - 0xa1);
      continue;
    }
    run.push(b);
  }
  if (run.length > g0.length) out += decoder.decode(Uint8Array.from(run));
  return out;
}

/** How text under one Specific Character Set is decoded. */
function decoderOf(charsets: string[]): (bytes: Uint8Array) => string {
  const terms = definedCharsets(charsets).charsets.map(term);
  if (
    terms.includes('ISO_2022_IR_87') ||
    terms.includes('ISO_2022_IR_13') ||
    terms.includes('ISO_2022_IR_159')
  )
    return decodeIso2022Japanese;
  const multi = terms.find(
    (t) =>
      t.startsWith('ISO_2022_IR_') &&
      t !== 'ISO_2022_IR_6' &&
      t !== 'ISO_2022_IR_100',
  );
  if (multi === 'ISO_2022_IR_149' || multi === 'ISO_2022_IR_58') {
    // EUC forms are the ISO 2022 G1 sets without their escapes.
    const decoder = decoderFor(DECODERS[multi] ?? 'latin1');
    return (bytes) =>
      decoder.decode(
        Buffer.from(
          Buffer.from(bytes)
            .toString('latin1')
            .replace(/\x1b\$\)[AC]|\x1b\(B/g, ''),
          'latin1',
        ),
      );
  }
  const decoder = decoderFor(DECODERS[multi ?? terms[0] ?? ''] ?? 'latin1');
  return (bytes) => decoder.decode(bytes);
}

/** Decoders by the Specific Character Set values they serve. */
const decoders = new Map<string, (bytes: Uint8Array) => string>();

/**
 * True when every byte (of `start` to `end`) is ASCII and none is ESC (an
 * ISO 2022 escape): text every character set reads as ASCII. A range
 * spares callers a view per value.
 */
export function plainAscii(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b > 0x7e || b === 0x1b) return false;
  }
  return true;
}

/**
 * Decodes a text value under a Specific Character Set (0008,0005), whose
 * values are given in order; values that are no Defined Term are left out
 * (definedCharsets). ISO 2022 code extensions are decoded by the first
 * multi-byte set named; escapes of other sets are dropped.
 */
export function decodeText(bytes: Uint8Array, charsets: string[]): string {
  // Every set here reads plain ASCII as ASCII, which most values are.
  if (plainAscii(bytes))
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(
      'latin1',
    );
  const key = charsets.join('\\');
  let decode = decoders.get(key);
  if (!decode) {
    decode = decoderOf(charsets);
    if (decoders.size > 1000) decoders.clear(); // crafted files: stay bounded
    decoders.set(key, decode);
  }
  return decode(bytes);
}

/** True when text in this character set can be rewritten as latin1 bytes. */
export function isSingleByteLatin(values: string[]): boolean {
  const { charsets } = definedCharsets(values);
  const first = term(charsets[0] ?? '');
  return (
    charsets.length <= 1 &&
    (first === '' || first === 'ISO_IR_100' || first === 'ISO_IR_6')
  );
}

/** Byte of each character of a single-byte set, built once per set. */
const encoders = new Map<string, Map<string, number>>();

function singleByteTable(label: string): Map<string, number> {
  let table = encoders.get(label);
  if (!table) {
    table = new Map();
    const decoder = new TextDecoder(label);
    for (let b = 0xa0; b <= 0xff; b++) {
      const ch = decoder.decode(Uint8Array.of(b));
      if (ch !== '\ufffd' && !table.has(ch)) table.set(ch, b);
    }
    encoders.set(label, table);
  }
  return table;
}

/**
 * Text in the bytes of a Specific Character Set, and whether every
 * character got there (see encodeText).
 */
function encode(
  text: string,
  charsets: string[],
): { bytes: Buffer; complete: boolean } {
  const terms = definedCharsets(charsets).charsets.map(term);
  const first = terms.length <= 1 ? (terms[0] ?? '') : undefined;
  if (first === 'ISO_IR_192')
    return { bytes: Buffer.from(text, 'utf8'), complete: true };
  if (
    first === '' ||
    first === 'ISO_IR_6' ||
    first === 'ISO_IR_100' ||
    first === 'ISO_2022_IR_100'
  ) {
    const kept = text.replace(/[^\x00-\xff]/g, '');
    return {
      bytes: Buffer.from(kept, 'latin1'),
      complete: kept.length === text.length,
    };
  }
  const label = first === undefined ? undefined : DECODERS[first];
  const single =
    label !== undefined &&
    (label.startsWith('iso-8859') || label === 'windows-874');
  const table = single ? singleByteTable(label) : undefined;
  const out: number[] = [];
  let complete = true;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const b = code < 0x80 ? code : table?.get(ch);
    if (b !== undefined) out.push(b);
    else complete = false;
  }
  return { bytes: Buffer.from(out), complete };
}

/**
 * Encodes text under a Specific Character Set (0008,0005) for writing:
 * UTF-8 under ISO_IR 192, Latin-1 under ISO_IR 100 and the default
 * repertoire (as lpacs read it), and the other ISO 8859 sets by their own
 * tables. Characters a set cannot hold, and every character outside ASCII
 * under multi-byte sets and ISO 2022 code extensions (which would need
 * escape sequences), are dropped: text never goes out in bytes of a set
 * other than the one its label names.
 */
export function encodeText(text: string, charsets: string[]): Buffer {
  return encode(text, charsets).bytes;
}

/**
 * The text in the bytes of the character set, or undefined when encodeText
 * would drop a character of it (so the caller can write it another way,
 * e.g. the whole object in UTF-8).
 */
export function encodeTextExactly(
  text: string,
  charsets: string[],
): Buffer | undefined {
  const { bytes, complete } = encode(text, charsets);
  return complete ? bytes : undefined;
}

/**
 * The Node decoder label of a set that gives each byte one character (the
 * ISO 8859 sets, ISO_IR 166 and the default repertoire), or undefined for
 * multi-byte sets and code extensions of several values.
 */
function singleByteLabel(charsets: string[]): string | undefined {
  if (charsets.length > 1) return undefined;
  const label = DECODERS[term(charsets[0] ?? '')];
  return label === 'latin1' ||
    label === 'windows-874' ||
    label?.startsWith('iso-8859')
    ? label
    : undefined;
}

/** True when a byte is not ASCII. */
function highByte(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b > 0x7f) return true;
  return false;
}

/**
 * True when a text value's bytes are text of the Specific Character Set
 * that labels them: ASCII alone under the default repertoire (PS3.5
 * 6.1.2.2; ESC only where code extensions are declared); valid UTF-8
 * under ISO_IR 192; under a single-byte set, no byte of 80-9F (C1
 * controls, which DICOM text does not use: PS3.5 6.1.2.3, and which ISO
 * 8859 and TIS 620 give no character) and none the set leaves undefined,
 * and not valid UTF-8 of several bytes, the usual mislabelling (UTF-8
 * text under ISO_IR 100 reads as "Ã¼" for "ü"); under the other sets,
 * every byte decoded.
 */
export function decodesAsDeclared(
  bytes: Uint8Array,
  values: string[],
): boolean {
  if (plainAscii(bytes)) return true;
  const { charsets } = definedCharsets(values);
  const first = term(charsets[0] ?? '');
  if (charsets.length <= 1 && (first === '' || first === 'ISO_IR_6'))
    return false;
  if (charsets.length <= 1 && first === 'ISO_IR_192') return isUtf8(bytes);
  if (singleByteLabel(charsets)) {
    const extensions = first.startsWith('ISO_2022');
    for (const b of bytes)
      if ((b >= 0x80 && b <= 0x9f) || (b === ESC && !extensions)) return false;
    if (decodeText(bytes, charsets).includes('\ufffd')) return false;
    return !(highByte(bytes) && isUtf8(bytes));
  }
  return !decodeText(bytes, charsets).includes('\ufffd');
}

/**
 * The set a value's bytes are most likely in when they are not text of
 * the one that labels them, the usual mislabellings: UTF-8 (valid UTF-8
 * with bytes beyond ASCII under a single-byte set) and Latin-1 (bytes
 * that are not UTF-8 under ISO_IR 192); undefined otherwise.
 */
export function likelyCharsets(
  bytes: Uint8Array,
  values: string[],
): string[] | undefined {
  if (plainAscii(bytes)) return undefined;
  const { charsets } = definedCharsets(values);
  if (charsets.length === 1 && term(charsets[0]!) === 'ISO_IR_192')
    return isUtf8(bytes) ? undefined : ['ISO_IR 100'];
  if (singleByteLabel(charsets) && highByte(bytes) && isUtf8(bytes))
    return ['ISO_IR 192'];
  return undefined;
}

/**
 * What a text reads as when it was written in one set and is read under
 * another, as the usual mislabellings do: its UTF-8 bytes read under a
 * single-byte set (the declared one, else ISO_IR 100: "MÃ\u009cLLER" for
 * "MÜLLER"), and its bytes in that set read as UTF-8 ("M\ufffdLLER").
 * Each differs from the text; none for ASCII text, which every set reads
 * alike.
 */
export function misreadings(text: string, values: string[]): string[] {
  if (!/[^\x00-\x7f]/.test(text)) return [];
  const { charsets } = definedCharsets(values);
  const single = singleByteLabel(charsets) ? charsets : ['ISO_IR 100'];
  const out = new Set<string>();
  out.add(decodeText(Buffer.from(text, 'utf8'), single));
  const bytes = encodeTextExactly(text, single);
  if (bytes) out.add(decodeText(bytes, ['ISO_IR 192']));
  out.delete(text);
  return [...out];
}
