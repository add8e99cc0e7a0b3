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

/** How text under one Specific Character Set is decoded. */
function decoderOf(charsets: string[]): (bytes: Uint8Array) => string {
  const terms = charsets.map(term);
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

/** True when every byte is ASCII and none is ESC (an ISO 2022 escape). */
function plainAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
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
 * Encodes text under a Specific Character Set (0008,0005) for writing:
 * UTF-8 under ISO_IR 192, Latin-1 under ISO_IR 100 and the default
 * repertoire (as lpacs read it), and the other ISO 8859 sets by their own
 * tables. Characters a set cannot hold, and every character outside ASCII
 * under multi-byte sets and ISO 2022 code extensions (which would need
 * escape sequences), are dropped: text never goes out in bytes of a set
 * other than the one its label names.
 */
export function encodeText(text: string, charsets: string[]): Buffer {
  const terms = charsets.map(term);
  const first = terms.length <= 1 ? (terms[0] ?? '') : undefined;
  if (first === 'ISO_IR_192') return Buffer.from(text, 'utf8');
  if (
    first === '' ||
    first === 'ISO_IR_6' ||
    first === 'ISO_IR_100' ||
    first === 'ISO_2022_IR_100'
  )
    return Buffer.from(text.replace(/[^\x00-\xff]/g, ''), 'latin1');
  const label = first === undefined ? undefined : DECODERS[first];
  const single =
    label !== undefined &&
    (label.startsWith('iso-8859') || label === 'windows-874');
  const table = single ? singleByteTable(label) : undefined;
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) out.push(code);
    else {
      const b = table?.get(ch);
      if (b !== undefined) out.push(b);
    }
  }
  return Buffer.from(out);
}
