import type { Encoding } from './types';

/** Transfer syntax UIDs the product treats specially (PS3.5 10, PS3.6 A). */
export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
} as const;

export const IMPLICIT_LE: Encoding = { littleEndian: true, explicitVR: false };
export const EXPLICIT_LE: Encoding = { littleEndian: true, explicitVR: true };
export const EXPLICIT_BE: Encoding = { littleEndian: false, explicitVR: true };

/** The encoding of the data set under a transfer syntax. */
export function encodingOf(transferSyntaxUID: string): Encoding {
  if (transferSyntaxUID === TransferSyntax.ImplicitVRLittleEndian)
    return IMPLICIT_LE;
  if (transferSyntaxUID === TransferSyntax.ExplicitVRBigEndian)
    return EXPLICIT_BE;
  // Every other syntax, encapsulated ones included, is explicit VR LE.
  return EXPLICIT_LE;
}

/** True when pixel data under this syntax is encapsulated (PS3.5 A.4). */
export function isEncapsulated(transferSyntaxUID: string): boolean {
  return !(Object.values(TransferSyntax) as string[]).includes(
    transferSyntaxUID,
  );
}
