/** Verification SOP Class (PS3.4 A.4): C-ECHO. */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/**
 * Transfer syntaxes we accept (PS3.5 A, PS3.6 A). The lake keeps objects in
 * the syntax they arrive in, so compressed ones are taken as they are rather
 * than asking the sender to decompress.
 */
export const ACCEPTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
  '1.2.840.10008.1.2.2', // Explicit VR Big Endian (retired, still sent)
  '1.2.840.10008.1.2.4.50', // JPEG Baseline (Process 1)
  '1.2.840.10008.1.2.4.51', // JPEG Extended (Process 2 & 4)
  '1.2.840.10008.1.2.4.57', // JPEG Lossless (Process 14)
  '1.2.840.10008.1.2.4.70', // JPEG Lossless, SV1
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless Only
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.5', // RLE Lossless
]);

/** Without a data set, C-ECHO needs one of the native syntaxes only. */
const NATIVE = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
]);

/**
 * True for a Storage SOP Class. Every standard one (PS3.4 B.5, retired ones
 * included) sits under this root; the few non-image storage classes outside
 * it (hanging protocols, colour palettes, implant templates) and private
 * classes are refused, as lpacs cannot index them.
 */
export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.5.1.4.1.1.');
}

/**
 * The transfer syntax to accept for a proposed context: the first one the
 * proposer lists that we take (its order is its preference, PS3.8 9.3.2.2),
 * or undefined when there is none.
 */
export function pickTransferSyntax(
  abstractSyntax: string,
  proposed: readonly string[],
): string | undefined {
  const usable =
    abstractSyntax === VERIFICATION_SOP_CLASS
      ? NATIVE
      : ACCEPTED_TRANSFER_SYNTAXES;
  return proposed.find((uid) => usable.has(uid));
}
