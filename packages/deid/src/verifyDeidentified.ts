import {
  Tag,
  findElement,
  isPrivateTag,
  isStringVr,
  readString,
  readStrings,
  tagString,
  valueBytes,
} from '@lpacs/dicom';
import type { DataSet, DicomElement, DicomFile } from '@lpacs/dicom';
import { ActionTable, resolve, unlistedAction } from './actionTable';
import { cappedAge } from './dates';
import { DUMMY, keptCleaned } from './Deidentifier';
import { CLEANED_TEXT_VRS } from './keptText';
import { cleanText } from './cleanText';
import { BOOLEAN_KEYS, RESEARCH_DEFAULT, selectedOptions } from './options';
import type { DeidOptions } from './options';
import { safePrivateTags } from './safePrivate';
import { ACCESSION_PSEUDONYM, PATIENT_PSEUDONYM } from './SiteKeys';

const CODE_VALUE = 0x00080100;
const BASIC_PROFILE = '113100';

const NONE: DeidOptions = {
  ...RESEARCH_DEFAULT,
  longitudinal: 'off',
  retainPatientCharacteristics: false,
  cleanDescriptors: false,
};

/** The code selectedOptions gives one option alone: one source of truth. */
function codeOf(options: Partial<DeidOptions>): string {
  return selectedOptions({ ...NONE, ...options })[0]!.code.value;
}

/** The options a list of CID 7050 codes declares. */
function optionsOf(codes: ReadonlySet<string>): DeidOptions {
  const out: DeidOptions = { ...NONE };
  for (const key of BOOLEAN_KEYS)
    if (codes.has(codeOf({ [key]: true }))) out[key] = true;
  for (const dates of ['full', 'modified'] as const)
    if (codes.has(codeOf({ longitudinal: dates }))) out.longitudinal = dates;
  return out;
}

/** What a set of codes declares, and its compiled table. */
interface Declared {
  options: DeidOptions;
  table: ActionTable;
}

const declared = new Map<string, Declared>();

function declaredBy(codes: ReadonlySet<string>): Declared {
  const key = [...codes].sort().join(',');
  let found = declared.get(key);
  if (!found) {
    const options = optionsOf(codes);
    found = { options, table: new ActionTable(options) };
    if (declared.size > 64) declared.clear();
    declared.set(key, found);
  }
  return found;
}

interface Check extends Declared {
  buf: Buffer;
  pseudonym: string;
}

/** Why an element breaks the declared profile, or undefined. */
function breach(
  c: Check,
  el: DicomElement,
  safe?: Set<number>,
): string | undefined {
  const where = tagString(el.tag);
  if (isPrivateTag(el.tag)) {
    if (c.options.retainSafePrivate && safe?.has(el.tag)) return undefined;
    return `${where} is a private element the profile removes`;
  }
  const listed = c.table.actionFor(el.tag);
  const action =
    (listed === 'keep'
      ? unlistedAction(el.tag, el.vr, c.options.longitudinal)?.action
      : undefined) ?? resolve(listed, el.vr);
  if (el.tag === Tag.PatientAge && (action === 'K' || action === 'keep')) {
    const value = readString(c.buf, el)?.trim() ?? '';
    const capped = cappedAge(value);
    if (capped && capped !== value)
      return `${where} is an age over 89, which lpacs writes as ${capped}`;
  }
  const filled = el.items ? el.items.length > 0 : el.length > 0;
  if (action === 'X' && filled)
    return `${where} is present, and the profile removes it`;
  if ((action === 'Z' || action === 'D') && el.items && el.items.length > 0)
    return `${where} has items, and the profile empties it`;
  if (el.items) return undefined;
  if (action === 'C' && CLEANED_TEXT_VRS.has(el.vr)) {
    // lpacs empties free text it does not keep, and what it keeps has no
    // date, long number, phone or e-mail left in it: cleaning it again
    // changes nothing.
    const values = readStrings(c.buf, el, ['ISO_IR 192']);
    // A label the Basic Profile gives D carries the dummy when cleaning
    // left nothing of it.
    const dummy =
      c.table.needsValue(el.tag) && values.every((v) => v === DUMMY[el.vr]);
    const clean =
      dummy ||
      (keptCleaned(el.tag)
        ? values.every((v) => cleanText(v, undefined) === v)
        : values.every((v) => v === ''));
    return clean
      ? undefined
      : `${where} holds text the profile cleans or empties`;
  }
  const replaced = action === 'Z' || action === 'D';
  if (
    (action === 'U' || (replaced && el.vr === 'UI')) &&
    !c.options.retainUIDs
  ) {
    const uids = readStrings(c.buf, el);
    if (uids.some((u) => u !== '' && !u.startsWith('2.25.')))
      return `${where} holds a UID the profile would have replaced`;
    return undefined;
  }
  if (!replaced || el.vr === 'UI') return undefined;
  if (
    action === 'D' &&
    (el.vr === 'DA' || el.vr === 'DT') &&
    c.options.longitudinal !== 'off'
  )
    return undefined; // shifted or kept: any date may stand
  if (!isStringVr(el.vr)) {
    // D writes zeros of the same length, Z nothing.
    const bytes = valueBytes(c.buf, el);
    return bytes.every((b) => b === 0)
      ? undefined
      : `${where} holds a value, and the profile replaces it`;
  }
  const values = readStrings(c.buf, el, ['ISO_IR 192']);
  const allowed = (v: string): boolean => {
    if (v === '' || v === (DUMMY[el.vr] ?? '')) return true;
    if (el.tag === Tag.AccessionNumber) return ACCESSION_PSEUDONYM.test(v);
    return (
      (el.tag === Tag.PatientID || el.tag === Tag.PatientName) &&
      v === c.pseudonym
    );
  };
  if (!values.every(allowed))
    return el.vr === 'PN'
      ? `${where} holds a person name, and the profile replaces it`
      : `${where} holds a value, and the profile replaces it`;
  return undefined;
}

function firstBreach(
  c: Check,
  ds: DataSet | { elements: readonly DicomElement[] },
): string | undefined {
  const safe = c.options.retainSafePrivate
    ? safePrivateTags(c.buf, ds.elements)
    : undefined;
  for (const el of ds.elements) {
    if ((el.tag & 0xffff) === 0) continue; // group lengths
    const why = breach(c, el, safe);
    if (why) return why;
    for (const item of el.items ?? []) {
      const inner = firstBreach(c, item);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * Checks an object another lpacs says it de-identified (`lpacs sync`)
 * against what that says: the Basic Profile and the options of its
 * DeidentificationMethodCodeSequence (0012,0064). An lpacs pseudonym as
 * PatientID, no element the declared profile removes, no private element
 * beyond the safe list when that option is declared, every UID the
 * profile replaces in the `2.25.` form lpacs writes, and where it empties
 * or replaces a value (Z, D) nothing but empty, lpacs's dummy for the VR,
 * its pseudonyms, or (D on dates with a Retain Longitudinal option) a
 * date. What lpacs adds to the table holds too: no person name in an
 * element the table does not list, no public element PS3.6 does not
 * define, no date or time the table does not list unless a Retain
 * Longitudinal option is declared (unlistedAction), and no PatientAge over 89 years but 090Y. It cannot prove free text clean (C); it does
 * stop an identified object that merely carries the two attributes.
 * @returns why the object is refused (attributes named, never values), or undefined
 */
export function verifyDeidentified(file: DicomFile): string | undefined {
  const { buffer: buf, elements } = file.body;
  const codes = new Set<string>();
  const method = findElement(elements, Tag.DeidentificationMethodCodeSequence);
  for (const item of method?.items ?? []) {
    const code = readString(buf, findElement(item.elements, CODE_VALUE));
    if (code) codes.add(code);
  }
  if (!codes.has(BASIC_PROFILE))
    return 'its DeidentificationMethodCodeSequence (0012,0064) does not name the Basic Application Confidentiality Profile (113100)';
  const pseudonym = readString(buf, findElement(elements, Tag.PatientID)) ?? '';
  if (!PATIENT_PSEUDONYM.test(pseudonym))
    return 'its PatientID (0010,0020) is not an lpacs pseudonym';
  return firstBreach({ ...declaredBy(codes), buf, pseudonym }, file.body);
}
