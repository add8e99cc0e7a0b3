import {
  PROFILE_RULES,
  Tag,
  findElement,
  implicitVr,
  likelyCharsets,
  lookupTag,
  misreadings,
  readString,
  readStrings,
  valueBytes,
} from '@lpacs/dicom';
import type { DataSet, DicomElement } from '@lpacs/dicom';
import { fold } from './cleanText';
import { ageFromAS, yearsBetween } from './dates';
import { keptAge } from './retainedValues';
import { normalisePersonName } from './SiteKeys';

/** What de-identification must know about the patient before removing it. */
export interface PatientIdentity {
  /** The key pseudonyms and date shifts derive from (never stored). */
  key: string;
  /** Every identifying string the object holds, for cleaning free text. */
  identifiers: readonly string[];
  /**
   * Removed only as whole words: words of its place names and addresses,
   * person name parts of 4 letters or fewer ("LI", "TOM", "MARY"), their
   * spellings with particles spaced and names run together (nameTerms),
   * and IDs of fewer than four characters ("C1"), which inside other
   * words would cut clinical text.
   */
  wholeWords: readonly string[];
  /**
   * What kept text outside the descriptors is cleaned of (keptText):
   * identifiers and wholeWords less the values of elements the options
   * retain (a station name under Retain Device Identity stays in its own
   * element, so a kept model name is not cleaned of it), with every
   * Latin name term a whole word ("ROSS" leaves "CROSS").
   */
  keptIdentifiers: readonly string[];
  keptWholeWords: readonly string[];
  /**
   * What a value an option keeps (K) is cleaned of (see the
   * Deidentifier's #retain): keptIdentifiers less every place word, so a
   * station name `LMH-CT01` kept under Retain Device Identity keeps its
   * site code (the initials of InstitutionName, a place) while losing
   * the patient's names, IDs and birth date.
   */
  retainedIdentifiers: readonly string[];
  retainedWholeWords: readonly string[];
  /** Age at the study in whole years, capped at 90 (HIPAA 164.514(b)(2)). */
  ageYears: number | undefined;
}

/** Text VRs whose values may be an identifier that free text repeats. */
const ID_VRS = new Set(['SH', 'LO', 'AE', 'UC', 'ST', 'LT', 'UT']);

/**
 * The attributes whose values free text may repeat as identifiers, taken
 * from Table E.1-1 itself: every row the Basic Profile removes or replaces
 * whose value is text of ID_VRS (IDs, accession and order numbers,
 * institution, station and device names and serial numbers, addresses,
 * telephone numbers, ...). Left out are the descriptors and comments the
 * Clean options clean (their own words are what is kept), patient
 * characteristics (an ethnic group or an allergy does not say who), and
 * other VRs (dates are shifted, UIDs remapped, and dates and long numbers
 * are removed by shape anyway). Person names are taken from every element
 * of VR PN, listed here or not.
 */
const ID_TAGS: ReadonlySet<number> = new Set(
  PROFILE_RULES.filter(
    (r) =>
      r.mask === 0xffffffff &&
      r.basic !== 'K' &&
      !r.options.cleanDescOpt &&
      !r.options.cleanStructContOpt &&
      !r.options.cleanGraphOpt &&
      !r.options.rtnPatCharsOpt &&
      ID_VRS.has(lookupTag(r.value)?.[0] ?? ''),
  ).map((r) => r.value),
);

/**
 * Sequences of Table E.1-1 whose items are codes that identify a person,
 * an institution or a station (PS3.3 10.1 Person Identification Macro,
 * C.7.5.1 equipment): the Code Value and Code Meaning of their items are
 * identifiers too ("DRHOUSE01", "Mercy Valley Hospital").
 */
const IDENTIFYING_CODE_SEQUENCES: ReadonlySet<number> = new Set([
  0x00401101, // PersonIdentificationCodeSequence
  0x00080082, // InstitutionCodeSequence
  0x00404028, // PerformedStationNameCodeSequence
  0x00404025, // ScheduledStationNameCodeSequence
  0x00404030, // PerformedStationGeographicLocationCodeSequence
  0x00404027, // ScheduledStationGeographicLocationCodeSequence
  0x00100050, // PatientInsurancePlanCodeSequence
  0x0040a088, // VerifyingObserverIdentificationCodeSequence
]);
const CODE_VALUES: ReadonlySet<number> = new Set([
  0x00080100, // CodeValue
  0x00080119, // LongCodeValue
  0x00080104, // CodeMeaning
]);

/**
 * Names and addresses of places: the institution, its address and
 * department, the patient's, the referring physician's and any other
 * person's address, at any depth. Free text repeats them in part
 * ("AXIAL MERCY", "CT FAIRVIEW"), so each word counts too (the whole
 * values are identifiers already).
 */
const PLACE_TAGS: ReadonlySet<number> = new Set([
  Tag.InstitutionName,
  0x00080081, // InstitutionAddress
  0x00081040, // InstitutionalDepartmentName
  0x00101040, // PatientAddress
  0x00080092, // ReferringPhysicianAddress
  0x00401102, // PersonAddress
]);

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
 * False for a value that says nothing of whom or where, which free text
 * uses as clinical wording: two Latin letters alone ("CT", "ER", a state), and
 * a place named only by generic words ("RADIOLOGY", "Diagnostic Imaging").
 */
function identifying(value: string, place: boolean): boolean {
  if (value.length < 2) return false;
  if (/^\p{L}\p{L}$/u.test(value) && !IDEOGRAPHIC.test(value)) return false;
  return (
    !place ||
    value
      .split(/[\s^,.;:/()-]+/)
      .some((w) => w.length > 0 && !GENERIC_PLACE_WORDS.has(w.toUpperCase()))
  );
}

/**
 * An identifier shorter than this ("C1", "ER") is matched as a whole
 * word only: inside other words it would cut clinical text.
 */
const SHORT_ID = 4;

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
 * What separates the parts of a person name: component and group
 * delimiters, spaces, commas, hyphens and apostrophes (typed ' or the
 * typographic ’ ʼ ‘ ` ´): "O'BRIEN-SMYTHE" has the parts BRIEN and SMYTHE
 * (O, of one letter, is not searched for alone).
 */
const NAME_SEPARATORS = /[\^= ,'\u2019\u02bc\u2018`\u00b4-]+/u;

/**
 * A Latin name term of this many letters or fewer is matched as a whole
 * word only: inside other words a common short part cuts clinical and
 * technical text ("TOM" of an operator in "SOMATOM" and "TOMOGRAPHY",
 * "ANN" in "SCANNER", "MARY" in "PRIMARY", "MARK" in "LANDMARK"). Longer
 * parts are matched anywhere in descriptors, where a name glued to
 * another word ("SMITHCHEST") is more likely than a clinical word that
 * holds one. Measured on 2,875 DICOM keyword phrases and 65 names of the
 * generated corpus (docs/deid.md): parts of 3 letters or more matched
 * anywhere change 132 phrases, of 4 or more 51, of 5 or more 8.
 */
const SHORT_NAME = 4;

/**
 * Particles a family name starts with, which people type joined,
 * spaced or with an apostrophe or hyphen (O'BRIEN, OBRIEN, O BRIEN;
 * MCDONALD, MC DONALD; DELACRUZ, DE LA CRUZ; VANDERBERG, VAN DER BERG).
 */
const PARTICLES = [
  'O', 'D', 'L', 'MC', 'MAC', 'FITZ', 'AP',
  'DE', 'DI', 'DA', 'DU', 'DO', 'DEL', 'DELLA', 'DOS', 'DAS', 'LA', 'LE',
  'VAN', 'VON', 'DER', 'DEN', 'TEN', 'TER', 'ST',
  'AL', 'EL', 'BEN', 'BIN', 'ABU',
]; // prettier-ignore

/**
 * A name part of Latin letters alone written with a space wherever a
 * chain of PARTICLES from its start may end and at least 3 letters
 * follow ("OBRIEN" as "O BRIEN", "DELACRUZ" as "DE L A CRUZ"; cleanText
 * matches each space as any typed separator or none), or undefined when
 * it starts with none.
 */
export function particleSpelling(part: string): string | undefined {
  if (!/^\p{L}+$/u.test(part) || IDEOGRAPHIC.test(part)) return undefined;
  const upper = fold(part).toUpperCase();
  if (upper.length !== part.length) return undefined;
  const cuts = new Set<number>();
  const todo = [0];
  while (todo.length) {
    const at = todo.pop()!;
    for (const p of PARTICLES) {
      const end = at + p.length;
      if (upper.startsWith(p, at) && part.length - end >= 3 && !cuts.has(end)) {
        cuts.add(end);
        todo.push(end);
      }
    }
  }
  if (cuts.size === 0) return undefined;
  let out = '';
  for (let i = 0; i < part.length; i++)
    out += (cuts.has(i) ? ' ' : '') + part[i];
  return out;
}

/** What of a person name free text may repeat, by how it is matched. */
export interface NameTerms {
  /** Matched anywhere in descriptors (whole words in kept text). */
  anywhere: string[];
  /** Matched as whole words only. */
  whole: string[];
}

/** Letters and digits in a term, separators not counted. */
function letterCount(term: string): number {
  return term.replace(/[^\p{L}\p{N}]+/gu, '').length;
}

/**
 * What of a person name free text may repeat: the whole value, each
 * component ("DE LA CRUZ", which cleanText also matches as DELACRUZ),
 * each compound with its apostrophes and hyphens ("O'BRIEN-SMYTHE",
 * "O'BRIEN", which cleanText also matches as OBRIEN and O BRIEN), each
 * part between NAME_SEPARATORS ("BRIEN", "SMYTHE"), each part starting
 * with a particle spaced (particleSpelling: "OBRIEN" as O'BRIEN), and
 * the family and given names run together in either order ("NGWU",
 * "WU NG"). Latin terms of SHORT_NAME letters or fewer and particle
 * spellings are matched as whole words (names run together too, when
 * that short); one
 * letter alone is not searched for. In Chinese, Japanese and Korean,
 * where a family or given name is 1 to 3 characters and text runs them
 * together, components of 2 and family and given joined ("山田太郎") are
 * matched anywhere; one ideograph alone is not.
 */
export function nameTerms(value: string): NameTerms {
  const anywhere: string[] = [];
  const whole: string[] = [];
  const add = (term: string, wholeWord = false) => {
    if (IDEOGRAPHIC.test(term)) {
      if (term.length >= 2) anywhere.push(term);
      return;
    }
    const letters = letterCount(term);
    if (letters < 2) return;
    (wholeWord || letters <= SHORT_NAME ? whole : anywhere).push(term);
  };
  add(value);
  const parts = value.split(NAME_SEPARATORS);
  for (const term of new Set([
    ...value.split(/[\^=,]+/).map((c) => c.trim()),
    ...value.split(/[\^= ,]+/),
    ...value.split(/[\^= ,-]+/),
    ...parts,
  ]))
    add(term);
  for (const part of parts) {
    const spaced = particleSpelling(part);
    if (spaced) add(spaced, true);
  }
  for (const group of value.split('=')) {
    const [family, given] = group.split('^').map((c) => c.trim());
    if (!family || !given) continue;
    if (IDEOGRAPHIC.test(family + given)) add(family + given);
    else {
      // Searched anywhere as the longer parts are, longest first, so
      // "SMITHJOHN" goes whole, not as SMITH leaving JOHN (a part of 4
      // letters, matched as a word alone). A part of one or two letters
      // keeps them whole words: "Y ZZPERFDOC" anywhere would take the
      // "y" of "by".
      const short = Math.min(letterCount(family), letterCount(given)) < 3;
      add(`${family} ${given}`, short);
      add(`${given} ${family}`, short);
    }
  }
  return { anywhere, whole };
}

const NONE: ReadonlySet<number> = new Set();

/** The memo key part of a set of retained tags, per set. */
const retainedKeys = new WeakMap<ReadonlySet<number>, string>();

/**
 * The tags of ID_TAGS and IDENTIFYING_CODE_SEQUENCES an action table keeps
 * (K: Retain Device Identity keeps station names and serial numbers,
 * Retain Institution Identity the institution), for readIdentity.
 */
export function retainedIdentifierTags(
  actionFor: (tag: number) => string,
): ReadonlySet<number> {
  return new Set(
    [...ID_TAGS, ...IDENTIFYING_CODE_SEQUENCES].filter(
      (tag) => actionFor(tag) === 'K',
    ),
  );
}

/**
 * Reads the identity of a data set's patient: the key from the top level,
 * the identifiers from every depth (see gather). Every file of a series
 * carries the same identifying values: what they give is kept by their
 * bytes, so each file pays for a walk, not for splitting the names again.
 * `retained`: the tags whose values the options keep (see
 * retainedIdentifierTags), left out of keptIdentifiers.
 */
export function readIdentity(
  ds: DataSet,
  charsets: string[],
  retained: ReadonlySet<number> = NONE,
): PatientIdentity {
  const str = (tag: number) =>
    readString(ds.buffer, findElement(ds.elements, tag), charsets);
  const id = str(Tag.PatientID)?.trim();
  const issuer = str(0x00100021)?.trim();
  const name = normalisePersonName(str(Tag.PatientName) ?? '');
  const birth = str(Tag.PatientBirthDate) ?? '';
  const key = id ? `id:${issuer ?? ''}|${id}` : `name:${name}|${birth}`;
  const hits: Hit[] = [];
  let retainedKey = retainedKeys.get(retained);
  if (retainedKey === undefined) {
    retainedKey = [...retained].sort((a, b) => a - b).join(',');
    retainedKeys.set(retained, retainedKey);
  }
  const raw = [
    part('b', birth),
    part('c', charsets.join('\\')),
    part('r', retainedKey),
  ];
  gather(ds.buffer, ds.elements, charsets, 0, hits, raw);
  const found = identifiersOf(ds.buffer, hits, birth, raw.join(''), retained);
  const studyDate =
    str(Tag.StudyDate) ?? str(Tag.SeriesDate) ?? str(Tag.AcquisitionDate);
  // As the object keeps it (keptAge): an age that is no AS value leaves
  // the object, and gives no age_years either.
  const age =
    ageFromAS(keptAge(str(Tag.PatientAge) ?? '') ?? '') ??
    (studyDate ? yearsBetween(birth, studyDate) : undefined);
  return {
    key,
    identifiers: found.identifiers,
    wholeWords: found.wholeWords,
    keptIdentifiers: found.keptIdentifiers,
    keptWholeWords: found.keptWholeWords,
    retainedIdentifiers: found.retainedIdentifiers,
    retainedWholeWords: found.retainedWholeWords,
    ageYears: age === undefined ? undefined : Math.min(age, 90),
  };
}

const enum Kind {
  Name = 'n',
  Id = 'i',
  Place = 'p',
}

/** An element whose value free text may repeat, with its character set. */
interface Hit {
  el: DicomElement;
  charsets: string[];
  kind: Kind;
  /** The tag whose action says whether the value is retained: its own, or its code sequence's. */
  rule: number;
}

/** One self-delimiting piece of a memo key: a letter, a length, the text. */
function part(kind: string, text: string): string {
  return `${kind}${text.length}:${text}`;
}

/**
 * Finds, at every depth, what free text in the object may repeat: every
 * element of VR PN (the patient's other names, referring, requesting,
 * performing and reading physicians, physicians of record, operators,
 * observers, PNAME content items, ...), the elements of ID_TAGS (PLACE_TAGS
 * among them) and the codes of IDENTIFYING_CODE_SEQUENCES. An item's own
 * Specific Character Set applies inside it (PS3.5 7.5.3). `raw` receives
 * each one's kind, VR and bytes, and each item's character set, in order:
 * all that the identifiers are made of. `codes`: the tag of the
 * IDENTIFYING_CODE_SEQUENCES the elements are an item of, else 0.
 */
function gather(
  buf: Buffer,
  elements: readonly DicomElement[],
  charsets: string[],
  codes: number,
  hits: Hit[],
  raw: string[],
): void {
  for (const el of elements) {
    if (el.items) {
      const inCodes = IDENTIFYING_CODE_SEQUENCES.has(el.tag) ? el.tag : 0;
      for (const item of el.items) {
        const own = findElement(item.elements, Tag.SpecificCharacterSet);
        const inner = own ? readStrings(buf, own) : charsets;
        raw.push(part('[', inner.join('\\')));
        gather(buf, item.elements, inner, inCodes, hits, raw);
        raw.push(']');
      }
      continue;
    }
    if (el.length === 0) continue;
    // A name sent as UN (a converter that lost its VR) is still a name.
    const vr = el.vr === 'UN' ? implicitVr(el.tag) : el.vr;
    const kind =
      vr === 'PN'
        ? Kind.Name
        : ID_TAGS.has(el.tag) || (codes !== 0 && CODE_VALUES.has(el.tag))
          ? PLACE_TAGS.has(el.tag)
            ? Kind.Place
            : Kind.Id
          : undefined;
    if (kind === undefined) continue;
    hits.push({
      el: vr === el.vr ? el : { ...el, vr },
      charsets,
      kind,
      rule: kind === Kind.Name ? 0 : codes || el.tag,
    });
    // The VR too: it says whether a backslash separates values.
    raw.push(
      part(
        kind + vr,
        buf.toString('latin1', el.valueOffset, el.valueOffset + el.length),
      ),
    );
  }
}

/**
 * A value and what it reads as when written in one set and read under
 * another (misreadings: UTF-8 bytes under the single-byte set declared or
 * Latin-1, and that set's bytes under ISO_IR 192), as typed, in capitals
 * and in small letters, since each case of a letter beyond ASCII has
 * other bytes (Ü is C3 9C in UTF-8, ü C3 BC): a descriptor written in
 * UTF-8 under ISO_IR 100 loses the patient's name as it would in the
 * declared set. ASCII values have no other form.
 */
function misEncoded(value: string, charsets: string[]): string[] {
  if (!/[^\x00-\x7f]/.test(value)) return [value];
  const out = new Set([value]);
  for (const cased of [value, value.toUpperCase(), value.toLowerCase()])
    for (const form of misreadings(cased, charsets)) out.add(form);
  return [...out];
}

/** What identifiersOf gathers: names apart, as they are matched two ways. */
interface Sets {
  identifiers: Set<string>;
  wholeWords: Set<string>;
  names: Set<string>;
}

function sets(): Sets {
  return { identifiers: new Set(), wholeWords: new Set(), names: new Set() };
}

interface Found {
  identifiers: readonly string[];
  wholeWords: readonly string[];
  keptIdentifiers: readonly string[];
  keptWholeWords: readonly string[];
  retainedIdentifiers: readonly string[];
  retainedWholeWords: readonly string[];
}

/** Identifiers by the bytes they were read from (gather's raw); cleared when full. */
const memo = new Map<string, Found>();
const MEMO_SIZE = 1024;

/**
 * The identifiers and whole words of gather's hits: the parts of each
 * name, each ID (and its form without separators), the words of each
 * place, the forms of the birth date; and the same less the values of
 * `retained` tags. Frozen: they are shared by every object with the same
 * bytes, and identifierPattern knows them by identity.
 */
function identifiersOf(
  buf: Buffer,
  hits: readonly Hit[],
  birth: string,
  raw: string,
  retained: ReadonlySet<number>,
): Found {
  const known = memo.get(raw);
  if (known) return known;
  const all = sets();
  const kept = retained.size ? sets() : all;
  // Names and IDs alone (no place), less the retained tags' values.
  const persons = sets();
  let partial = false;
  for (const { el, charsets, kind, rule } of hits) {
    const to = kept === all || retained.has(rule) ? [all] : [all, kept];
    if (kind !== Kind.Place && !retained.has(rule)) to.push(persons);
    if (kept !== all && retained.has(rule)) partial = true;
    const id = (v: string) => to.forEach((s) => s.identifiers.add(v));
    const word = (v: string) => to.forEach((s) => s.wholeWords.add(v));
    const name = (v: string) => to.forEach((s) => s.names.add(v));
    // Read as labelled, and, when the bytes are not text of that set, as
    // the set they most likely are in (a name in UTF-8 under ISO_IR 100).
    const likely = likelyCharsets(valueBytes(buf, el), charsets);
    const readings = likely ? [charsets, likely] : [charsets];
    const values = readings.flatMap((cs) => readStrings(buf, el, cs));
    for (const value of new Set(values)) {
      const v = value.trim();
      if (kind === Kind.Name) {
        if (v.length === 0) continue;
        const terms = nameTerms(v);
        for (const t of terms.anywhere)
          misEncoded(t, charsets).forEach(IDEOGRAPHIC.test(t) ? id : name);
        for (const t of terms.whole) misEncoded(t, charsets).forEach(word);
        continue;
      }
      for (const form of misEncoded(v, charsets)) {
        if (!identifying(form, kind === Kind.Place)) continue;
        if (form.length < SHORT_ID) word(form);
        else id(form);
        // "LMH-CT01" is written "LMHCT01" too.
        const bare = form.replace(/[\s_./-]+/g, '');
        if (bare !== form && bare.length >= SHORT_ID) id(bare);
        if (kind === Kind.Place) placeWords(form).forEach(word);
      }
    }
  }
  // Descriptors match the longer name parts anywhere; kept text, where
  // technical words are more often cut than a name glued in, as whole
  // words only (see SHORT_NAME). IDs, places and the birth date are
  // matched the same in both.
  const lists = (s: Sets, namesWhole: boolean) => {
    if (/^\d{8}$/.test(birth))
      for (const form of birthDateForms(birth)) s.identifiers.add(form);
    const ids = namesWhole ? s.identifiers : [...s.identifiers, ...s.names];
    const words = namesWhole ? [...s.wholeWords, ...s.names] : s.wholeWords;
    return {
      identifiers: Object.freeze([...new Set(ids)].filter((v) => v.trim())),
      wholeWords: Object.freeze([...new Set(words)]),
    };
  };
  const whole = lists(all, false);
  const less = lists(partial ? kept : all, true);
  const own = lists(persons, true);
  const found: Found = {
    ...whole,
    keptIdentifiers: less.identifiers,
    keptWholeWords: less.wholeWords,
    retainedIdentifiers: own.identifiers,
    retainedWholeWords: own.wholeWords,
  };
  if (memo.size >= MEMO_SIZE) memo.clear();
  memo.set(raw, found);
  return found;
}
