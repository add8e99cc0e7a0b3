/** VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2). */
const LONG_VRS = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

/** Every VR of PS3.5 6.2. */
const ALL_VRS = new Set([
  ...LONG_VRS,
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FL',
  'FD',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'SL',
  'SS',
  'ST',
  'TM',
  'UI',
  'UL',
  'US',
]);

/** Text VRs whose values are character strings. */
const STRING_VRS = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

/** Byte width of the numbers in a binary VR, for byte swapping. */
const WORD_SIZE: Readonly<Record<string, number>> = {
  AT: 2,
  OW: 2,
  SS: 2,
  US: 2,
  FL: 4,
  OF: 4,
  OL: 4,
  SL: 4,
  UL: 4,
  FD: 8,
  OD: 8,
  OV: 8,
  SV: 8,
  UV: 8,
};

export function hasLongLength(vr: string): boolean {
  return LONG_VRS.has(vr);
}

export function isKnownVr(vr: string): boolean {
  return ALL_VRS.has(vr);
}

export function isStringVr(vr: string): boolean {
  return STRING_VRS.has(vr);
}

/** VRs whose values are numbers, written as text or binary (PS3.5 6.2). */
const NUMBER_VRS = new Set([
  'DS',
  'IS',
  'FL',
  'FD',
  'SL',
  'SS',
  'SV',
  'UL',
  'US',
  'UV',
]);

export function isNumberVr(vr: string): boolean {
  return NUMBER_VRS.has(vr);
}

/** Bytes per word to swap between byte orders; 1 means none. */
export function wordSize(vr: string): number {
  return WORD_SIZE[vr] ?? 1;
}
