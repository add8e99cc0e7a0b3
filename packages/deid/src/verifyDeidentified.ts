import {
  DicomError,
  Tag,
  TransferSyntax,
  definedCharsets,
  encodeFileMeta,
  findElement,
  isPrivateTag,
  isStringVr,
  lookupTag,
  parseDicom,
  readString,
  readStrings,
  tagString,
  valueBytes,
} from '@lpacs/dicom';
import type { DataSet, DicomElement, DicomFile } from '@lpacs/dicom';
import {
  ActionTable,
  isStandardUid,
  resolve,
  unlistedAction,
} from './actionTable';
import { CAPPED_AGE, isTime, shiftDA, shiftDT } from './dates';
import { keptAge, retainedFault } from './retainedValues';
import {
  DEIDENTIFICATION_METHOD,
  DUMMY,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  isOverlayOrCurve,
  keptCleaned,
  longitudinalMarker,
} from './Deidentifier';
import { CLEANED_TEXT_VRS } from './keptText';
import { holdsContent, pixelTextSegments } from './pixelText';
import { cleanText } from './cleanText';
import {
  BOOLEAN_KEYS,
  CLEAN_PIXEL_DATA,
  RESEARCH_DEFAULT,
  methodCodes,
  selectedOptions,
} from './options';
import type { DeidOptions } from './options';
import { safePrivateTags } from './safePrivate';
import { ACCESSION_PSEUDONYM, PATIENT_PSEUDONYM, isKeyedUid } from './SiteKeys';

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
  const where = named(el.tag);
  if ((el.tag & 0xffff) === 0)
    // The de-identifier drops every group length (its edits would make
    // them wrong), so one here was not written by lpacs, and its value
    // may be anything: read as UL in implicit VR, text in explicit.
    return `${where} is a group length, which lpacs does not write in the data set`;
  if (isOverlayOrCurve(el.tag))
    return `${where} is an overlay or curve element, and lpacs removes those groups whole`;
  if (el.tag === Tag.SpecificCharacterSet) {
    // lpacs writes Defined Terms alone, in the standard's spelling
    // (definedCharsets): any other value names no set, and may be text.
    const values = readStrings(c.buf, el);
    if (definedCharsets(values).charsets.join('\\') !== values.join('\\'))
      return `${where} holds a value that is not a Defined Term of PS3.3 C.12.1.1.2 as lpacs writes them`;
  }
  if (isPrivateTag(el.tag)) {
    if (c.options.retainSafePrivate && safe?.has(el.tag)) return undefined;
    return `${where} is a private element the profile removes`;
  }
  const listed = c.table.actionFor(el.tag);
  const unlisted =
    listed === 'keep'
      ? unlistedAction(
          el.tag,
          el.vr,
          c.options.longitudinal,
          c.options.retainUIDs,
        )
      : undefined;
  const action = unlisted?.action ?? resolve(listed, el.vr);
  if (action === 'K' && !el.items && isStringVr(el.vr)) {
    // What a retain option keeps holds values the attribute can hold
    // (see the de-identifier's #retain): an age in AS form, 090Y over 89.
    const values = readStrings(c.buf, el);
    if (el.vr === 'AS') {
      const kept = values.map((v) => (v === '' ? '' : keptAge(v)));
      if (kept.join('\\') !== values.join('\\'))
        return kept.includes(CAPPED_AGE)
          ? `${where} is an age over 89, which lpacs writes as ${CAPPED_AGE}`
          : `${where} is not an age in AS form (PS3.5 6.2), which lpacs does not keep`;
    }
    const fault = retainedFault(el.tag, el.vr, values);
    if (fault)
      return `${where} is kept by a retain option, but its value is ${fault}, which lpacs does not keep`;
  }
  const filled = el.items ? el.items.length > 0 : el.length > 0;
  if (action === 'X' && filled)
    return unlisted?.count === 'wrongVr'
      ? `${where} is written as ${el.vr}, not the VR PS3.6 gives it, and lpacs removes such an element the table does not list`
      : unlisted?.count === 'unlistedUri'
        ? `${where} is a URI the table does not list, and lpacs removes it`
        : `${where} is present, and the profile removes it`;
  if ((action === 'Z' || action === 'D') && el.items && el.items.length > 0)
    return `${where} has items, and the profile empties it`;
  if (el.items) return undefined;
  if (action === 'C' && !CLEANED_TEXT_VRS.has(el.vr)) {
    // As the de-identifier cleans them: a date shifted (a readable date
    // may stand), a time kept when it is one, any other VR (OB, UR, PN,
    // AE, ...) emptied, whatever the attribute's own VR.
    if (el.vr === 'DA' || el.vr === 'DT' || el.vr === 'TM')
      return datesBreach(c, el, where);
    return el.length > 0
      ? `${where} holds a value, and the profile empties it`
      : undefined;
  }
  if (action === 'C') {
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
    // U empties a value of another VR, having no UID to map.
    if (el.vr !== 'UI')
      return el.length > 0
        ? `${where} holds a value, and the profile replaces it`
        : undefined;
    // A UID the table does not list keeps the standard's own UIDs.
    const standard = unlisted !== undefined;
    const uids = readStrings(c.buf, el);
    if (
      uids.some(
        (u) => u !== '' && !isKeyedUid(u) && !(standard && isStandardUid(u)),
      )
    )
      return `${where} holds a UID the profile would have replaced`;
    return undefined;
  }
  if (!replaced || el.vr === 'UI') return undefined;
  if (
    action === 'D' &&
    (el.vr === 'DA' || el.vr === 'DT') &&
    c.options.longitudinal !== 'off'
  )
    return datesBreach(c, el, where); // shifted or kept: any date may stand
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

/**
 * Why a date or time the de-identifier shifted or kept (C, or D under a
 * Retain Longitudinal option) is not one it writes, or undefined: any
 * readable date may stand (the shift is the sender's), a time stays
 * when it is one; anything else it empties.
 */
function datesBreach(
  c: Check,
  el: DicomElement,
  where: string,
): string | undefined {
  const readable = (v: string): boolean =>
    v === '' ||
    (el.vr === 'DA'
      ? shiftDA(v, 0) !== undefined
      : el.vr === 'DT'
        ? shiftDT(v, 0) !== undefined
        : isTime(v));
  return readStrings(c.buf, el).every(readable)
    ? undefined
    : `${where} holds a value that is not a ${el.vr === 'TM' ? 'time' : 'date'}, which the profile empties`;
}

/** A tag and, when PS3.6 defines it, its keyword: `(6000,0022) OverlayDescription`. */
function named(tag: number): string {
  const keyword = isPrivateTag(tag) ? undefined : lookupTag(tag)?.[1];
  return keyword ? `${tagString(tag)} ${keyword}` : tagString(tag);
}

/** The tags of the file meta lpacs writes (encodeFileMeta), read from its output. */
let metaTags: ReadonlySet<number> | undefined;
function writtenMetaTags(): ReadonlySet<number> {
  metaTags ??= new Set(
    parseDicom(
      encodeFileMeta({
        mediaStorageSOPClassUID: '1.2',
        mediaStorageSOPInstanceUID: '1.2',
        transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
        implementationClassUID: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      }),
    ).meta.elements.map((e) => e.tag),
  );
  return metaTags;
}

/**
 * Why the bytes around the data set are not those lpacs writes, or
 * undefined: the zero preamble, `DICM`, and the file meta encodeFileMeta
 * writes for this object (its SOP Class and Instance UIDs, its transfer
 * syntax, lpacs's implementation), byte for byte, and nothing after the
 * data set. Any other file meta element (Source Application Entity
 * Title, Private Information, ...) may name a person or a site.
 */
function framingBreach(file: DicomFile): string | undefined {
  if (!file.hasPreamble)
    return 'it has no preamble and file meta, which lpacs writes';
  if (file.transferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian)
    return 'its transfer syntax is deflated, which lpacs never writes';
  const { buffer: buf, elements: meta } = file.meta;
  const { buffer: body, elements } = file.body;
  const written = writtenMetaTags();
  for (const el of meta)
    if (!written.has(el.tag))
      return `its file meta holds ${named(el.tag)}, which lpacs does not write`;
  const expected = encodeFileMeta({
    mediaStorageSOPClassUID:
      readString(body, findElement(elements, Tag.SOPClassUID)) ?? '',
    mediaStorageSOPInstanceUID:
      readString(body, findElement(elements, Tag.SOPInstanceUID)) ?? '',
    transferSyntaxUID: file.transferSyntaxUID,
    implementationClassUID: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
  if (buf.subarray(0, 128).some((b) => b !== 0))
    return 'its 128-byte preamble is not zeros, as lpacs writes it';
  if (!buf.subarray(0, expected.length).equals(expected)) {
    const mine = parseDicom(expected).meta;
    for (const el of mine.elements) {
      const theirs = findElement(meta, el.tag);
      if (
        !theirs ||
        !valueBytes(buf, theirs).equals(valueBytes(mine.buffer, el))
      )
        return `its file meta ${named(el.tag)} is not what lpacs writes for this object`;
    }
    return 'its file meta is not encoded as lpacs writes it';
  }
  if (file.warnings.length > 0)
    return 'it has bytes after its data set, which lpacs does not write';
  return undefined;
}

/** Every CID 7050 code lpacs writes, with the meaning it writes. */
const MEANINGS: ReadonlyMap<string, string> = new Map(
  [
    ...methodCodes({ ...NONE, longitudinal: 'full' }),
    ...methodCodes(
      {
        ...NONE,
        ...Object.fromEntries(BOOLEAN_KEYS.map((k) => [k, true])),
        longitudinal: 'modified',
      },
      true,
    ),
    CLEAN_PIXEL_DATA,
  ].map((c) => [c.value, c.meaning]),
);
const CODING_SCHEME_DESIGNATOR = 0x00080102;
const CODE_MEANING = 0x00080104;
const LongitudinalTemporalInformationModified = 0x00280303;

/**
 * Why the de-identification markers are not as lpacs writes them, or
 * undefined: the method (0012,0063) is lpacs's text, each item of the
 * method code sequence holds a CID 7050 code lpacs writes with its
 * scheme and meaning and nothing else, and (0028,0303) says what the
 * declared dates option writes.
 */
function markerBreach(
  file: DicomFile,
  options: DeidOptions,
): string | undefined {
  const { buffer: buf, elements } = file.body;
  const method = readString(
    buf,
    findElement(elements, Tag.DeidentificationMethod),
  );
  if (method?.trim() !== DEIDENTIFICATION_METHOD)
    return `${named(Tag.DeidentificationMethod)} is not the text lpacs writes`;
  const seq = findElement(elements, Tag.DeidentificationMethodCodeSequence);
  for (const item of seq?.items ?? []) {
    const text = (tag: number) =>
      readString(buf, findElement(item.elements, tag))?.trim();
    const meaning = MEANINGS.get(text(CODE_VALUE) ?? '');
    const extra = item.elements.find(
      (e) =>
        e.tag !== CODE_VALUE &&
        e.tag !== CODING_SCHEME_DESIGNATOR &&
        e.tag !== CODE_MEANING,
    );
    if (
      !meaning ||
      extra ||
      text(CODING_SCHEME_DESIGNATOR) !== 'DCM' ||
      text(CODE_MEANING) !== meaning
    )
      return `an item of ${named(Tag.DeidentificationMethodCodeSequence)} is not a code lpacs writes${extra ? ` (it holds ${named(extra.tag)})` : ''}`;
  }
  const marker = findElement(elements, LongitudinalTemporalInformationModified);
  if (marker && readString(buf, marker)?.trim() !== longitudinalMarker(options))
    return `${named(LongitudinalTemporalInformationModified)} is not what lpacs writes for the declared dates option`;
  return undefined;
}

/**
 * Why a data set or item parseDicom read out of tag order or with a tag
 * twice is not one lpacs wrote, naming the element, or undefined.
 */
function orderBreach(ds: {
  elements: readonly DicomElement[];
  unordered?: true;
}): string | undefined {
  if (!ds.unordered) return undefined;
  const els = ds.elements;
  for (let i = 1; i < els.length; i++)
    if (els[i]!.tag === els[i - 1]!.tag)
      return `${named(els[i]!.tag)} appears twice in one data set or item, which lpacs never writes`;
  // In the order of the bytes, the first element with a lower tag than
  // the one before it.
  const read = [...els].sort((a, b) => a.start - b.start);
  for (let i = 1; i < read.length; i++)
    if (read[i]!.tag < read[i - 1]!.tag)
      return `${named(read[i]!.tag)} comes after ${tagString(read[i - 1]!.tag)}, and lpacs writes elements in ascending tag order`;
  return 'its elements are not in ascending tag order, as lpacs writes them';
}

function firstBreach(
  c: Check,
  ds: DataSet | { elements: readonly DicomElement[]; unordered?: true },
): string | undefined {
  const order = orderBreach(ds);
  if (order) return order;
  const safe = c.options.retainSafePrivate
    ? safePrivateTags(c.buf, ds.elements)
    : undefined;
  for (const el of ds.elements) {
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
 * Why the codestreams of encapsulated Pixel Data are not as lpacs
 * writes them, or undefined: a JPEG-family segment that may hold text
 * (pixelTextSegments) holds anything but its blank, or a codestream
 * cannot be walked. Names the segment kind and the frame, never bytes.
 */
function pixelBreach(file: DicomFile): string | undefined {
  const { buffer, elements } = file.body;
  const el = findElement(elements, Tag.PixelData);
  if (!el?.fragments) return undefined;
  const where = named(Tag.PixelData);
  try {
    const found = pixelTextSegments(
      buffer,
      el.fragments,
      file.transferSyntaxUID,
    ).find((seg) => holdsContent(buffer, seg));
    return found
      ? `${where} holds content in frame ${found.frame}'s ${found.kind}, which lpacs blanks`
      : undefined;
  } catch (err) {
    if (err instanceof DicomError) return `${where}: ${err.message}`;
    throw err;
  }
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
 * Longitudinal option is declared, no element written with a VR that
 * contradicts PS3.6's, no URI but a code's, and no UID the table does not
 * list that is neither keyed nor the standard's (unlistedAction), and no
 * PatientAge over 89 years but 090Y.
 * No element of an overlay or curve group (60xx, 50xx) at any depth,
 * which lpacs removes whole, and no group length (gggg,0000) at any
 * depth, which it drops. Specific Character Set (0008,0005), at any
 * depth, only Defined Terms as lpacs writes them (definedCharsets).
 * In JPEG-family Pixel Data, no comment or
 * application segment with content, which it blanks (pixelBreach). Every data set and item in ascending tag
 * order, each tag once (PS3.5 7.1), as lpacs writes them. Around the data set, the bytes lpacs writes
 * and no others: a zero preamble and exactly the file meta encodeFileMeta
 * writes for this object (framingBreach); the markers as lpacs writes
 * them (markerBreach). Given `lake`, the receiving lake's options, the
 * elements must also be what those would have left: a peer's wider
 * options do not widen what this lake takes. It cannot prove free text
 * clean (C); it does stop an identified object that merely carries the
 * two attributes.
 * @returns why the object is refused (attributes named, never values), or undefined
 */
export function verifyDeidentified(
  file: DicomFile,
  lake?: DeidOptions,
): string | undefined {
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
  const claimed = declaredBy(codes);
  const markers = markerBreach(file, claimed.options);
  if (markers) return markers;
  const asDeclared = firstBreach({ ...claimed, buf, pseudonym }, file.body);
  if (asDeclared) return asDeclared;
  const pixels = pixelBreach(file);
  if (pixels) return pixels;
  if (lake) {
    // And what this lake's own options would have left: nothing they
    // remove, empty or replace may stand because the sender's allowed it.
    const own = declaredBy(
      new Set([
        BASIC_PROFILE,
        ...selectedOptions(lake).map((o) => o.code.value),
      ]),
    );
    const why = firstBreach({ ...own, buf, pseudonym }, file.body);
    if (why) return `${why} under this lake's options`;
  }
  return framingBreach(file);
}
