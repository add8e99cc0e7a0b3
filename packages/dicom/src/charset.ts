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
  const terms = charsets.map(term);
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
 * values are given in order. ISO 2022 code extensions are decoded by the
 * first multi-byte set named; escapes of other sets are dropped.
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
export function isSingleByteLatin(charsets: string[]): boolean {
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
  const terms = charsets.map(term);
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
