import { Tag, findElement, readString, readStrings } from '@lpacs/dicom';
import type { DataSet, DicomElement } from '@lpacs/dicom';
import { ageFromAS, yearsBetween } from './dates';
import { normalisePersonName } from './SiteKeys';

/** What de-identification must know about the patient before removing it. */
export interface PatientIdentity {
  /** The key pseudonyms and date shifts derive from (never stored). */
  key: string;
  /** Every identifying string the object holds, for cleaning free text. */
  identifiers: string[];
  /**
   * Removed only as whole words: words of its place names and addresses,
   * and two-letter parts of person names ("LI"), which inside other words
   * would cut clinical text.
   */
  wholeWords: string[];
  /** Age at the study in whole years, capped at 90 (HIPAA 164.514(b)(2)). */
  ageYears: number | undefined;
}

const NAME_TAGS = [
  Tag.PatientName,
  Tag.ReferringPhysicianName,
  0x00081050,
  0x00081070,
  0x00101001,
  0x00101060,
];
const ID_TAGS = [
  Tag.PatientID,
  Tag.AccessionNumber,
  Tag.StudyID,
  0x00101000,
  0x00100021,
  0x00101040,
  Tag.InstitutionName,
  0x00080081,
  0x00081010,
];

/**
 * Names and addresses of places: the institution, its address and
 * department, the patient's address. Free text repeats them in part
 * ("AXIAL MERCY", "CT FAIRVIEW"), so each word counts too (the whole
 * values are identifiers already).
 */
const PLACE_TAGS = [
  Tag.InstitutionName,
  0x00080081, // InstitutionAddress
  0x00081040, // InstitutionalDepartmentName
  0x00101040, // PatientAddress
];

/**
 * Words of place names that say nothing of which place, and that clinical
 * wording uses ("CT HEAD GENERAL", "CHEST CLINIC PROTOCOL"): not searched
 * for alone. The whole value still is.
 */
const GENERIC_PLACE_WORDS = new Set([
  'THE',
  'AND',
  'FOR',
  'HOSPITAL',
  'HOSPITALS',
  'MEDICAL',
  'CENTER',
  'CENTRE',
  'GENERAL',
  'CLINIC',
  'CLINICS',
  'HEALTH',
  'UNIVERSITY',
  'INSTITUTE',
  'RADIOLOGY',
  'IMAGING',
  'DEPARTMENT',
  'DEPT',
  'SERVICES',
  'DIAGNOSTIC',
  'CARE',
  'SUITE',
]);

/**
 * The words of a place's name or address that free text may repeat
 * alone, matched as whole words (a street named "Lane" must not cut
 * "PLANE"): each of 3 characters or more that is not generic, and the
 * initials of a name of three words or more ("MVH" for "Mercy Valley
 * Hospital"), and any two or more of its words in a row run together
 * ("MercyValley", "MercyValleyHospital"). Two-letter words (US states)
 * are not identifying alone (HIPAA 164.514(b)(2) allows the state).
 */
export function placeWords(value: string): string[] {
  const out: string[] = [];
  const words = value.split(/[\s^,.;:/()-]+/).filter((w) => w.length > 0);
  for (const word of words)
    if (word.length >= 3 && !GENERIC_PLACE_WORDS.has(word.toUpperCase()))
      out.push(word);
  const letters = words.filter((w) => /^\p{L}/u.test(w));
  if (letters.length >= 3) out.push(letters.map((w) => w[0]).join(''));
  // Run together, as a scanner's station or protocol name may write it.
  for (let from = 0; from < words.length; from++)
    for (let to = from + 2; to <= Math.min(words.length, from + 6); to++)
      out.push(words.slice(from, to).join(''));
  return out;
}

const MONTHS = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];

/** The ways a birth date is commonly written in free text. */
function birthDateForms(da: string): string[] {
  const [y, m, d] = [da.slice(0, 4), da.slice(4, 6), da.slice(6, 8)];
  const mon = MONTHS[Number(m) - 1] ?? '';
  const day = String(Number(d));
  return [
    da,
    `${y}-${m}-${d}`,
    `${d}.${m}.${y}`,
    `${d}/${m}/${y}`,
    `${m}/${d}/${y}`,
    `${d}-${mon}-${y}`,
    `${day} ${mon} ${y}`,
  ];
}

/** Scripts that write names in a few characters without spaces: CJK, kana, Hangul. */
const IDEOGRAPHIC = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]/u;

/**
 * What of a person name free text may repeat: the whole value and each
 * component of 3 characters or more (shorter Latin ones, "LI", would cut
 * clinical words); in Chinese, Japanese and Korean, where a family or
 * given name is 1 to 3 characters and text runs them together, also
 * components of 2 and family and given joined ("山田太郎"). A name of one
 * ideograph alone is not searched for.
 */
export function nameParts(value: string): string[] {
  const out = [value];
  for (const part of value.split(/[\^= ,-]+/))
    if (part.length >= 3 || (part.length === 2 && IDEOGRAPHIC.test(part)))
      out.push(part);
  for (const group of value.split('=')) {
    const [family, given] = group.split('^');
    if (family && given && IDEOGRAPHIC.test(family + given))
      out.push(family + given);
  }
  return out;
}

/** Two-letter Latin parts of a person name ("LI" of "CHEN^LI"), to match whole. */
function shortNameParts(value: string): string[] {
  return value
    .split(/[\^= ,-]+/)
    .filter((part) => part.length === 2 && /^\p{L}\p{L}$/u.test(part))
    .filter((part) => !IDEOGRAPHIC.test(part));
}

/** Reads the identity of a data set's patient (top level only). */
export function readIdentity(ds: DataSet, charsets: string[]): PatientIdentity {
  const str = (tag: number) =>
    readString(ds.buffer, findElement(ds.elements, tag), charsets);
  const id = str(Tag.PatientID)?.trim();
  const issuer = str(0x00100021)?.trim();
  const name = normalisePersonName(str(Tag.PatientName) ?? '');
  const birth = str(Tag.PatientBirthDate) ?? '';
  const key = id ? `id:${issuer ?? ''}|${id}` : `name:${name}|${birth}`;
  const identifiers: string[] = [];
  const places: string[] = [];
  for (const tag of NAME_TAGS) {
    for (const v of readStrings(
      ds.buffer,
      findElement(ds.elements, tag),
      charsets,
    )) {
      identifiers.push(...nameParts(v));
      places.push(...shortNameParts(v));
    }
  }
  for (const tag of ID_TAGS) {
    for (const v of readStrings(
      ds.buffer,
      findElement(ds.elements, tag),
      charsets,
    )) {
      identifiers.push(v);
      // "LMH-CT01" is written "LMHCT01" too.
      const bare = v.replace(/[\s_./-]+/g, '');
      if (bare !== v && bare.length >= 4) identifiers.push(bare);
    }
  }
  for (const tag of PLACE_TAGS) {
    for (const v of readStrings(
      ds.buffer,
      findElement(ds.elements, tag),
      charsets,
    ))
      places.push(...placeWords(v));
  }
  if (/^\d{8}$/.test(birth)) identifiers.push(...birthDateForms(birth));
  const studyDate =
    str(Tag.StudyDate) ?? str(Tag.SeriesDate) ?? str(Tag.AcquisitionDate);
  const age =
    ageFromAS(str(Tag.PatientAge) ?? '') ??
    (studyDate ? yearsBetween(birth, studyDate) : undefined);
  return {
    key,
    identifiers: identifiers.filter((v) => v.trim().length > 0),
    wholeWords: places,
    ageYears: age === undefined ? undefined : Math.min(age, 90),
  };
}

/**
 * Every person name (VR PN) at any depth, with its parts: the observers,
 * authors and PNAME content items of a report, which free text in the
 * same object may repeat. Used only by the options that clean that text.
 */
export function personNames(
  buf: Buffer,
  elements: readonly DicomElement[],
  charsets: string[],
  out: string[] = [],
): string[] {
  for (const el of elements) {
    if (el.items)
      for (const item of el.items)
        personNames(buf, item.elements, charsets, out);
    else if (el.vr === 'PN')
      for (const v of readStrings(buf, el, charsets)) out.push(...nameParts(v));
  }
  return out;
}
