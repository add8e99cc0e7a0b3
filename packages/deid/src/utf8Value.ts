import { decodeText } from '@lpacs/dicom';

const SPACE = Buffer.from(' ');

/**
 * VRs whose values Specific Character Set (0008,0005) applies to
 * (PS3.5 6.1.2.3); every other VR holds the default repertoire only.
 */
export const CHARSET_VRS: ReadonlySet<string> = new Set([
  'SH',
  'LO',
  'UC',
  'ST',
  'LT',
  'UT',
  'PN',
]);

/**
 * A text value read under its character set and written in UTF-8, padded
 * to an even length with a space; undefined when a byte does not decode
 * under that set, which UTF-8 could carry only as U+FFFD.
 */
export function utf8Value(
  bytes: Uint8Array,
  charsets: string[],
): Buffer | undefined {
  const text = decodeText(bytes, charsets);
  if (text.includes('\ufffd')) return undefined;
  const out = Buffer.from(text, 'utf8');
  return out.length % 2 ? Buffer.concat([out, SPACE]) : out;
}
