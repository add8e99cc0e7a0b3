import { Tag } from '@lpacs/dicom';
import { cleanIdentifiers, holdsIdentifier } from './cleanText';

/** Text VRs the C action cleans (kept descriptors) or empties (the rest). */
export const CLEANED_TEXT_VRS: ReadonlySet<string> = new Set([
  'LO',
  'SH',
  'ST',
  'LT',
  'UT',
  'UC',
  'CS',
]);

/**
 * Text VRs whose values in elements Table E.1-1 does not list (what it
 * keeps under an option stays as it came) Clean Descriptors cleans of the object's own
 * identifiers: free text (LO, SH, ST, LT, UT, UC) and coded text (CS,
 * UR). Not PN (a name is an identifier, not text that repeats one), AE
 * (the table lists the AE titles), numbers (DS, IS: an ID of digits
 * cannot be told from a measurement), dates, times and UIDs (shifted or
 * remapped).
 */
export const KEPT_TEXT_VRS: ReadonlySet<string> = new Set([
  ...CLEANED_TEXT_VRS,
  'UR',
]);

/** VRs whose values are codes: a value is kept whole or emptied, never cut. */
const CODED_VRS: ReadonlySet<string> = new Set(['CS', 'UR']);

/**
 * The elements of a code (PS3.3 8.8 Code Sequence Macro) other than its
 * meaning: cutting a word out of "T-D3000" or "99LOCAL" would make
 * another code, so they are kept whole or emptied as CS values are.
 */
const CODE_ELEMENTS: ReadonlySet<number> = new Set([
  0x00080100, // CodeValue
  0x00080102, // CodingSchemeDesignator
  0x00080103, // CodingSchemeVersion
  0x00080119, // LongCodeValue
  0x00080120, // URNCodeValue
]);

/**
 * The values of a kept text element cleaned of the object's own
 * identifiers (`pattern`, keptIdentifiers of readIdentity), or undefined
 * when none holds one. Free text loses the words that match, as a kept
 * descriptor does, but keeps its dates and numbers (a software version
 * "VA40A 2012B", a model "SOMATOM Definition AS+"). A code (CS, UR, and
 * CODE_ELEMENTS) is emptied when it holds an identifier as a word of its
 * own ("QQVORTAN", "QQVORTAN_WINDOW", "P-QQMRN5521") and kept whole when
 * the identifier is only inside a longer word (a name XIA in AXIAL, LIN
 * in LINEAR): a cut code would be a wrong one. Specific Character Set is
 * never touched.
 */
export function cleanKept(
  tag: number,
  vr: string,
  values: readonly string[],
  pattern: RegExp,
): string[] | undefined {
  if (tag === Tag.SpecificCharacterSet) return undefined;
  const coded = CODED_VRS.has(vr) || CODE_ELEMENTS.has(tag);
  let changed = false;
  const out = values.map((v) => {
    const c = coded
      ? holdsIdentifier(v, pattern)
        ? ''
        : v
      : cleanIdentifiers(v, pattern);
    if (c !== v) changed = true;
    return c;
  });
  return changed ? out : undefined;
}
