import {
  DicomWriter,
  Tag,
  TransferSyntax,
  decodesAsDeclared,
  definedCharsets,
  encodeFileMeta,
  encodeText,
  encodeTextExactly,
  findElement,
  iodTypesFor,
  isEncapsulated,
  isPrivateTag,
  readString,
  readStrings,
  tagString,
  topString,
  valueBytes,
  isStringVr,
  lookupTag,
  plainAscii,
} from '@lpacs/dicom';
import type { DicomElement, DicomFile, Encoding, IodType } from '@lpacs/dicom';
import {
  ActionTable,
  isStandardUid,
  resolve,
  unlistedAction,
} from './actionTable';
import {
  blankPixels,
  cannotBlank,
  matchBlankingRule,
  pixelLayout,
} from './blanking';
import type { BlankingRule } from './blanking';
import { decodeForBlanking } from './decodeForBlanking';
import type { ElementAction } from './actionTable';
import { cleanText, identifierPattern } from './cleanText';
import { CAPPED_AGE, isTime, shiftDA, shiftDT } from './dates';
import { burnedInRisk, recognizableRisk } from './burnedInRisk';
import type { Risk, RiskFacts } from './burnedInRisk';
import { DeidError, DeidErrorCode } from './DeidError';
import { readIdentity, retainedIdentifierTags } from './identity';
import { CLEANED_TEXT_VRS, KEPT_TEXT_VRS, cleanKept } from './keptText';
import { RESEARCH_DEFAULT, methodCodes } from './options';
import type { DeidOptions } from './options';
import { codestreamFamily, holdsContent, pixelTextSegments } from './pixelText';
import type { PixelTextSegment } from './pixelText';
import {
  PREGNANCY_STATUS,
  PREGNANCY_STATUS_VALUES,
  isValidUid,
  keptAge,
  retainedFault,
} from './retainedValues';
import { safePrivateTags } from './safePrivate';
import type { SiteKeys } from './SiteKeys';
import { CHARSET_VRS, utf8Value } from './utf8Value';

/** The implementation this product writes in file meta (PS3.7 D.3.3.2). */
export const IMPLEMENTATION_CLASS_UID =
  '2.25.56572253830343942067908936876069723705';
export const IMPLEMENTATION_VERSION_NAME = 'LPACS_0_1';
/** (0012,0063): the profile and the edition of Table E.1-1 (full text in PROFILE_EDITION). */
export const DEIDENTIFICATION_METHOD =
  'lpacs 0.1: PS3.15 E.1-1 Basic Profile, Jan 2025 table';

/** A de-identified object and what is known about it without PHI. */
export interface DeidOutcome {
  /** The whole PS3.10 file. */
  bytes: Buffer;
  transferSyntaxUID: string;
  sopClassUID: string;
  sopInstanceUID: string;
  patientPseudonym: string;
  ageYears: number | undefined;
  dateShiftDays: number;
  /** How many elements each action touched (no values). */
  actions: Record<string, number>;
  /** Elements whose action failed and that were removed instead. */
  warnings: string[];
  /**
   * What a reviewer should know, not a failure: a secondary capture that
   * may show text, pixels blanked by a rule or decoded to blank them.
   * Always set by Deidentifier (optional for outcomes made elsewhere).
   */
  notices?: string[];
  /**
   * The encrypted link from this object's original identifiers to their
   * pseudonyms (see SiteKeys.sealLinkage), or undefined when this
   * Deidentifier sealed the same link already.
   */
  linkage: string | undefined;
}

/** What a linkage record holds once opened (steward use only). */
export interface LinkageRecord {
  /** The pseudonymous PatientID. */
  pseudonym: string;
  /** `id:<issuer>|<PatientID>`, or `name:<name>|<birth date>` without an ID. */
  patientKey: string;
  /** [original AccessionNumber, its pseudonym]. */
  accessions: Array<[string, string]>;
}

/** A dummy value per VR for the D action (PS3.15 E.1.1 "consistent with the VR"). */
export const DUMMY: Readonly<Record<string, string>> = {
  AE: 'ANON',
  AS: '000Y',
  CS: 'ANON',
  DA: '19000101',
  DS: '0',
  DT: '19000101000000',
  IS: '0',
  LO: 'ANONYMIZED',
  LT: 'ANONYMIZED',
  PN: 'ANONYMIZED',
  SH: 'ANONYMIZED',
  ST: 'ANONYMIZED',
  TM: '000000',
  UC: 'ANONYMIZED',
  // D needs a non-zero length (PS3.15 E.1.1): a relative URI reference
  // (RFC 3986 4.1) that points nowhere.
  UR: 'ANONYMIZED',
  UT: 'ANONYMIZED',
};

/**
 * Type 1C attributes whose condition is another attribute's presence; when
 * the profile removes that one, the dependent must go too or the object
 * stops conforming (found by dciodvfy on planted data).
 */
const REQUIRES: ReadonlyMap<number, number> = new Map([
  // Clinical Trial Protocol Ethics Committee Name (D) needs the Approval Number (X), PS3.3 C.7.1.3
  [0x00120081, 0x00120082],
]);

/**
 * The descriptors the Clean Descriptors option keeps after cleaning, for
 * cohort building; every other attribute the option would clean (patient
 * comments, histories, occupation, medical alerts, ...) is emptied instead.
 */
const KEPT_DESCRIPTORS: ReadonlySet<number> = new Set([
  0x00081030, // Study Description
  0x0008103e, // Series Description
  0x00181030, // Protocol Name
  0x00400254, // Performed Procedure Step Description
  0x00321060, // Requested Procedure Description
  0x00082111, // Derivation Description
  0x00180010, // Contrast/Bolus Agent
]);

/**
 * Free text the Clean Structured Content and Clean Graphics options clean
 * like descriptors (the object's own identifiers, dates, long numbers and
 * e-mail addresses removed) instead of keeping as is.
 */
const TextValue = 0x0040a160; // SR TEXT content items, PS3.3 C.17.3
const UnformattedTextValue = 0x00700006; // Text Object Sequence, PS3.3 C.10.5

/** True for text the C action keeps cleaned rather than empties. */
export function keptCleaned(tag: number): boolean {
  return (
    KEPT_DESCRIPTORS.has(tag) ||
    tag === TextValue ||
    tag === UnformattedTextValue
  );
}

const BACKSLASH = Buffer.from('\\');
const SPACE = Buffer.from(' ');
const NUL = Buffer.from([0]);

/**
 * Whether a VR's values are bytes in any byte order: strings, and OB and UN.
 * An odd-length value of one of them is padded when copied; another
 * binary VR of odd length is malformed beyond padding and copied as is.
 */
const isByteVr = (vr: string): boolean =>
  isStringVr(vr) || vr === 'OB' || vr === 'UN';
/** Padded with NUL rather than a space (PS3.5 6.2): UIDs and bytes. */
const NUL_PADDED: ReadonlySet<string> = new Set(['UI', 'OB', 'UN']);

const MARKERS = [
  Tag.PatientIdentityRemoved,
  Tag.DeidentificationMethod,
  Tag.DeidentificationMethodCodeSequence,
  Tag.LongitudinalTemporalInformationModified,
];

const UTF8 = ['ISO_IR 192'];

/** State of one object's walk. */
interface Walk {
  buf: Buffer;
  /** Specific Character Set of the data set or item being written. */
  charsets: string[];
  /**
   * Every text value goes out in UTF-8 and every Specific Character Set
   * says ISO_IR 192 (the second walk, when the first was lossy).
   */
  utf8: boolean;
  /** A written value lost characters its character set cannot hold. */
  lossy: boolean;
  /** A kept value did not decode under its set: UTF-8 cannot carry it. */
  undecodable: boolean;
  shift: number;
  pseudonym: string;
  identifiers: RegExp | undefined;
  /**
   * What kept text values are cleaned of under Clean Descriptors (see
   * keptText), undefined without the option or without identifiers.
   */
  kept: RegExp | undefined;
  /**
   * What text a retain option keeps (K) is cleaned of, whatever Clean
   * Descriptors says: the patient's names, IDs and birth date, not the
   * places `kept` has too (see PatientIdentity.retainedIdentifiers).
   */
  retainedText: RegExp | undefined;
  actions: Record<string, number>;
  warnings: string[];
  notices: string[];
  accessions: Array<[string, string]>;
  /** The rule whose rectangles are zeroed in this object's pixels. */
  blanking: BlankingRule | undefined;
  /** Codestream segments of encapsulated Pixel Data that hold text (pixelText). */
  pixelText: PixelTextSegment[];
  /** The codestream family of the transfer syntax (codestreamFamily). */
  codestream: string | undefined;
  /** The object's top-level elements. */
  top: DicomElement[];
  /**
   * Types of the combined-code attributes at the top level of this
   * object's IOD (iodTypesFor its SOP Class UID), undefined when the
   * table does not know the SOP class.
   */
  types: ReadonlyMap<number, IodType> | undefined;
}

function assemble(
  chunks: readonly Buffer[],
  size: number,
  into?: Buffer,
): Buffer {
  if (!into || into.length < size) return Buffer.concat(chunks, size);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(into, at);
  return into.subarray(0, size);
}

const RecognizableVisualFeatures = 0x00280302;

/**
 * Refuses an object whose transfer syntax or SOP class (file meta and
 * body) is not a valid UID (PS3.5 9.1: digits and dots, no component
 * with a leading zero, 64 characters at most). Those values are written
 * as they came, not remapped, since they name how the object is read:
 * one that is no UID may hold anything, a name or an ID. An unknown but
 * valid UID passes. The message names the attribute, never the value.
 * @throws DeidError INVALID_UID
 */
function refuseInvalidClassUids(file: DicomFile): void {
  const checks: Array<[string, string | undefined]> = [
    ['TransferSyntaxUID (0002,0010)', file.transferSyntaxUID],
    ['SOPClassUID (0008,0016)', topString(file.body, Tag.SOPClassUID)],
    [
      'MediaStorageSOPClassUID (0002,0002)',
      topString(file.meta, Tag.MediaStorageSOPClassUID),
    ],
  ];
  for (const [name, value] of checks)
    if (value !== undefined && !isValidUid(value))
      throw new DeidError(
        DeidErrorCode.InvalidUID,
        `${name} is not a valid UID (PS3.5 9.1: digits and dots, no leading zeros, at most 64 characters); lpacs writes it as it came, so the file is refused`,
      );
}

/**
 * What the object says of its class, modality and pixels: every value
 * of each statement (a gate must see `NO\\YES`, not its first value).
 */
function factsOf(file: DicomFile): RiskFacts {
  const { buffer, elements } = file.body;
  const all = (tag: number) =>
    readStrings(buffer, findElement(elements, tag)).join('\\') || undefined;
  return {
    sopClassUID:
      readString(buffer, findElement(elements, Tag.SOPClassUID))?.trim() ??
      topString(file.meta, Tag.MediaStorageSOPClassUID)?.trim() ??
      '',
    burnedIn: all(Tag.BurnedInAnnotation),
    recognizable: all(RecognizableVisualFeatures),
    modality: all(Tag.Modality),
  };
}

/** The burned-in text risk of an object, by its class and statement. */
function riskOf(file: DicomFile, options: DeidOptions): Risk {
  return burnedInRisk(factsOf(file), options.acceptUnmarked);
}

/** The LongitudinalTemporalInformationModified (0028,0303) lpacs writes. */
export function longitudinalMarker(o: DeidOptions): string {
  return o.longitudinal === 'modified'
    ? 'MODIFIED'
    : o.longitudinal === 'full'
      ? 'UNMODIFIED'
      : 'REMOVED';
}

/** What the admission gates found for an object they let in. */
export interface Admission {
  /** Recognizable visual features: `ok`, or `warn` (accepted by the lake). */
  seen: Risk;
  /** Burned-in text: `ok`, `warn` (accepted unmarked), or `refuse` with a rule. */
  risk: Risk;
  /** The lake's blanking rule that clears the text, when one is needed. */
  rule: BlankingRule | undefined;
}

/**
 * The gates an object passes before a lake takes it, under the lake's
 * options: no recognizable features (RecognizableVisualFeatures YES, a
 * photograph) unless the lake accepts them, and no burned-in text
 * (BurnedInAnnotation YES, the classes and modalities of burnedInRisk,
 * an unmarked secondary capture) unless the lake accepts it or one of
 * its blanking rules clears it. Ingest (deidentify) and sync receive
 * (with no blanking rules: a received object is stored as it came, so
 * nothing can be blanked) both ask here.
 * @throws DeidError RECOGNIZABLE_VISUAL_FEATURES or BURNED_IN_ANNOTATION
 */
export function admission(file: DicomFile, options: DeidOptions): Admission {
  // No blanking rule hides a face: checked first, and alone.
  const seen = recognizableRisk(factsOf(file), options.acceptUnmarked);
  if (seen.verdict === 'refuse')
    throw new DeidError(DeidErrorCode.RecognizableVisualFeatures, seen.reason!);
  const risk = riskOf(file, options);
  const rule =
    risk.verdict === 'ok'
      ? undefined
      : matchBlankingRule(options.blanking, file.body);
  if (risk.verdict === 'refuse' && !rule)
    throw new DeidError(DeidErrorCode.BurnedInAnnotation, risk.reason!);
  return { seen, risk, rule };
}

/**
 * True for an element of an overlay or curve group, removed whole: every
 * even group 6000-60FE and 5000-50FE. The standard defines overlays
 * (60xx, PS3.3 C.9.2) and the retired curves (50xx, PS3.3 2003 C.10.2)
 * only in the even groups 00-1E (PS3.5 7.6), and the dictionary knows
 * only those (lookupTag); the even groups 20-FE hold no standard element,
 * but a writer whose dictionary reads them as overlays (dcmtk's reads
 * 6000-60FF) may put an overlay's text there, so they go as the same kind.
 * An overlay plane without its data, or a curve with its label and
 * without its points, is left partial (dciodvfy flags it), and their
 * labels, descriptions and bitmaps may all hold text. lpacs has no option
 * that keeps overlays. Odd groups are private (isPrivateTag). The
 * de-identifier and verifyDeidentified both ask this.
 */
export function isOverlayOrCurve(tag: number): boolean {
  const group = tag >>> 16;
  const base = group & 0xff00;
  return (base === 0x6000 || base === 0x5000) && (group & 1) === 0;
}

/** Adds a notice to an object's list unless the same one is there already. */
function noticeOnce(walk: Walk, notice: string): void {
  if (!walk.notices.includes(notice)) walk.notices.push(notice);
}

/**
 * De-identifies DICOM objects by PS3.15 Annex E: the Basic Profile with the
 * options given, keyed pseudonyms, UIDs remapped at every depth, dates
 * shifted per patient. Untouched elements are written back byte for byte.
 */
export class Deidentifier {
  readonly #table: ActionTable;
  /** The identifying tags the options keep (see readIdentity). */
  #retained?: ReadonlySet<number>;
  readonly #keys: SiteKeys;
  readonly #options: DeidOptions;
  /** Linkage records sealed already (plaintext, in memory only). */
  readonly #sealed = new Set<string>();
  /** Objects prepare() decoded, with the transfer syntax they came in. */
  readonly #decodedFrom = new WeakMap<DicomFile, string>();

  constructor(keys: SiteKeys, options: DeidOptions = RESEARCH_DEFAULT) {
    this.#keys = keys;
    this.#options = options;
    this.#table = new ActionTable(options);
  }

  get options(): DeidOptions {
    return this.#options;
  }

  /**
   * True when prepare() has work to do (and would await): a blanking rule
   * matches an encapsulated object at risk. Cheap; false at once when the
   * lake has no rules.
   */
  mustPrepare(file: DicomFile): boolean {
    return (
      this.#options.blanking.length > 0 &&
      isEncapsulated(file.transferSyntaxUID) &&
      riskOf(file, this.#options).verdict !== 'ok' &&
      matchBlankingRule(this.#options.blanking, file.body) !== undefined
    );
  }

  /**
   * Makes an object deidentify() can blank: when a blanking rule matches an
   * object at risk whose pixels are encapsulated, its frames are decoded
   * and it is re-encoded as Explicit VR Little Endian. Every other object
   * is returned as it is, without waiting on anything.
   * @throws DeidError when a frame does not decode.
   */
  async prepare(file: DicomFile): Promise<DicomFile> {
    if (!this.mustPrepare(file)) return file;
    const native = await decodeForBlanking(file);
    this.#decodedFrom.set(native, file.transferSyntaxUID);
    return native;
  }

  /**
   * @param into a scratch buffer to assemble the output in when it is large
   *   enough (the result is then a view of it, valid until its next use);
   *   saves an allocation and its page faults per object.
   * @throws DeidError when the object must not enter the lake.
   */
  deidentify(file: DicomFile, into?: Buffer): DeidOutcome {
    const body = file.body;
    const top = body.elements;
    refuseInvalidClassUids(file);
    const { seen, risk, rule } = admission(file, this.#options);
    if (rule) {
      const why = cannotBlank(pixelLayout(body), body.encoding.littleEndian);
      if (why)
        throw new DeidError(
          DeidErrorCode.BurnedInAnnotation,
          `a blanking rule matches but ${why}: refused`,
        );
    }
    const charsets = readStrings(
      body.buffer,
      findElement(top, Tag.SpecificCharacterSet),
    );
    this.#retained ??= retainedIdentifierTags((tag) =>
      this.#table.actionFor(tag),
    );
    const identity = readIdentity(body, charsets, this.#retained);
    const shift = this.#keys.dateShiftDays(identity.key);
    const pseudonym = this.#keys.patientPseudonym(identity.key);
    // Memoized by every value that feeds it: one pattern per patient,
    // study and series, never one patient's for another's text.
    const identifiers = identifierPattern(
      identity.identifiers,
      identity.wholeWords,
    );
    const keptText = identifierPattern(
      identity.keptIdentifiers,
      identity.keptWholeWords,
    );
    const kept = this.#options.cleanDescriptors ? keptText : undefined;
    const retainedText = identifierPattern(
      identity.retainedIdentifiers,
      identity.retainedWholeWords,
    );
    const decodedFrom = this.#decodedFrom.get(file);
    const sopClassUID =
      readString(body.buffer, findElement(top, Tag.SOPClassUID)) ??
      topString(file.meta, Tag.MediaStorageSOPClassUID);
    const types = iodTypesFor(sopClassUID);
    const start = (utf8: boolean): Walk => ({
      buf: body.buffer,
      charsets,
      utf8,
      lossy: false,
      undecodable: false,
      shift,
      pseudonym,
      identifiers,
      kept,
      retainedText,
      // Counted so a release manifest says how many objects entered
      // unchecked under the lake's acceptUnmarked option.
      actions: {
        ...(risk.verdict === 'warn' && !rule && { acceptedUnmarked: 1 }),
        ...(seen.verdict === 'warn' && { acceptedRecognizable: 1 }),
      },
      warnings: [],
      notices: [
        ...(seen.verdict === 'warn' ? [seen.reason!] : []),
        ...(risk.verdict === 'warn' && !rule ? [risk.reason!] : []),
        ...(decodedFrom
          ? [
              `pixel data decoded from ${decodedFrom} to Explicit VR Little Endian to blank it`,
            ]
          : []),
      ],
      accessions: [],
      blanking: rule,
      pixelText,
      codestream: codestreamFamily(file.transferSyntaxUID),
      top,
      types,
    });
    const sopInstance = readString(
      body.buffer,
      findElement(top, Tag.SOPInstanceUID),
    );
    const study = readString(
      body.buffer,
      findElement(top, Tag.StudyInstanceUID),
    );
    const series = readString(
      body.buffer,
      findElement(top, Tag.SeriesInstanceUID),
    );
    if (!study || !series) {
      // Without them the object cannot be placed in a study or series.
      throw new DeidError(
        DeidErrorCode.MissingUID,
        `${study ? 'SeriesInstanceUID (0020,000E)' : 'StudyInstanceUID (0020,000D)'} is missing`,
      );
    }
    if (!sopClassUID || !sopInstance) {
      throw new DeidError(
        DeidErrorCode.MissingUID,
        'SOPClassUID or SOPInstanceUID (0008,0016/0018) is missing',
      );
    }
    // Text a JPEG-family codestream carries in its comment and application
    // segments (throws MALFORMED when a codestream cannot be walked).
    const pixels = findElement(top, Tag.PixelData);
    const pixelText = pixels?.fragments
      ? pixelTextSegments(
          body.buffer,
          pixels.fragments,
          file.transferSyntaxUID,
        ).filter((seg) => holdsContent(body.buffer, seg))
      : [];
    let walk = start(false);
    let writer = new DicomWriter(body.encoding);
    this.#writeTop(writer, top, body.unordered, walk);
    if (walk.lossy) {
      // A cleaned value holds characters its set cannot (lpacs has no
      // GB18030 or ISO 2022 encoder): the object is written again with
      // all its text in UTF-8 under ISO_IR 192, never bytes of one set
      // under the label of another.
      const again = start(true);
      const utf8 = new DicomWriter(body.encoding);
      this.#writeTop(utf8, top, body.unordered, again);
      if (!again.undecodable) [walk, writer] = [again, utf8];
      else
        walk.notices.push(
          `cleaned text kept only what ${charsets.join('\\') || 'the default repertoire'} can hold: some text does not decode under it, so the object was not re-encoded as UTF-8`,
        );
    }
    // Retain UIDs keeps a UID, not a value that is none (see #retain).
    const sopInstanceUID =
      this.#options.retainUIDs && isValidUid(sopInstance)
        ? sopInstance
        : this.#keys.uid(sopInstance);
    const transferSyntaxUID =
      file.transferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian
        ? TransferSyntax.ExplicitVRLittleEndian
        : file.transferSyntaxUID;
    const meta = encodeFileMeta({
      mediaStorageSOPClassUID: sopClassUID,
      mediaStorageSOPInstanceUID: sopInstanceUID,
      transferSyntaxUID,
      implementationClassUID: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    });
    return {
      bytes: assemble(
        [meta, ...writer.chunks()],
        meta.length + writer.size,
        into,
      ),
      transferSyntaxUID,
      sopClassUID,
      sopInstanceUID,
      patientPseudonym: walk.pseudonym,
      // Age is a patient characteristic (Table E.1-1's rtnPatCharsOpt):
      // without that option it leaves with PatientAge, not in the index.
      ageYears: this.#options.retainPatientCharacteristics
        ? identity.ageYears
        : undefined,
      dateShiftDays: this.#options.longitudinal === 'modified' ? walk.shift : 0,
      actions: walk.actions,
      warnings: walk.warnings,
      notices: walk.notices,
      linkage: this.#seal({
        pseudonym: walk.pseudonym,
        patientKey: identity.key,
        accessions: walk.accessions,
      }),
    };
  }

  /**
   * The pseudonymous PatientID and StudyInstanceUID deidentify() gives
   * the object (the study's is undefined when it has none), without
   * de-identifying the rest: how an erasure finds a patient's or study's
   * quarantined originals.
   */
  pseudonymsOf(file: DicomFile): {
    patientID: string;
    studyInstanceUID: string | undefined;
  } {
    const body = file.body;
    const charsets = readStrings(
      body.buffer,
      findElement(body.elements, Tag.SpecificCharacterSet),
    );
    const identity = readIdentity(body, charsets);
    const study = topString(body, Tag.StudyInstanceUID);
    return {
      patientID: this.#keys.patientPseudonym(identity.key),
      studyInstanceUID:
        study && !(this.#options.retainUIDs && isValidUid(study))
          ? this.#keys.uid(study)
          : study,
    };
  }

  /** Seals a linkage record unless this instance sealed the same one already. */
  #seal(record: LinkageRecord): string | undefined {
    const plain = JSON.stringify(record);
    if (this.#sealed.has(plain)) return undefined;
    if (this.#sealed.size >= 10_000) this.#sealed.clear();
    this.#sealed.add(plain);
    return this.#keys.sealLinkage(plain);
  }

  /**
   * A data set's or item's elements each tag once, as lpacs writes every
   * data set (PS3.5 7.1). parseDicom sorts elements it read out of order
   * (`unordered`), twins in the order read: of a tag found more than once
   * the first stays, as the rest of lpacs reads it (findElement), and
   * each later one is removed, counted X and `duplicate`, with a notice
   * naming its tag. `changed`: the bytes were out of order or held twins,
   * so they are written anew, never copied.
   */
  #inTagOrder(
    elements: readonly DicomElement[],
    unordered: boolean | undefined,
    walk: Walk,
  ): { ordered: readonly DicomElement[]; changed: boolean } {
    if (!unordered) return { ordered: elements, changed: false };
    const ordered: DicomElement[] = [];
    for (const el of elements) {
      if (ordered.length && ordered[ordered.length - 1]!.tag === el.tag) {
        walk.notices.push(
          `${tagString(el.tag)} appears more than once in one data set or item: the first kept, a later one removed`,
        );
        this.#count(walk, 'X');
        this.#count(walk, 'duplicate');
        continue;
      }
      ordered.push(el);
    }
    return { ordered, changed: true };
  }

  #writeTop(
    w: DicomWriter,
    all: DicomElement[],
    unordered: boolean | undefined,
    walk: Walk,
  ): void {
    const { ordered: elements } = this.#inTagOrder(all, unordered, walk);
    // PatientID is added when absent, so every object carries its pseudonym.
    const pending: number[] = [Tag.PatientID, ...MARKERS].filter(
      (tag) => tag !== Tag.PatientID || !findElement(elements, tag),
    );
    if (walk.blanking && !findElement(elements, Tag.BurnedInAnnotation))
      pending.push(Tag.BurnedInAnnotation);
    if (walk.utf8 && !findElement(elements, Tag.SpecificCharacterSet))
      pending.push(Tag.SpecificCharacterSet);
    pending.sort((a, b) => a - b);
    const orphans = this.#orphans(elements, walk.types);
    const safe = this.#safePrivate(walk.buf, elements);
    for (const el of elements) {
      while (pending.length && pending[0]! < el.tag)
        this.#writeMarker(w, pending.shift()!, walk);
      if (MARKERS.includes(el.tag as (typeof MARKERS)[number])) continue;
      // Overlays and curves may be text; a bitmap cannot be cleaned, so
      // each goes whole rather than leave a plane without its data.
      if (orphans.has(el.tag) || isOverlayOrCurve(el.tag))
        this.#count(walk, 'X');
      else if (walk.blanking && el.tag === Tag.BurnedInAnnotation)
        this.#writeMarker(w, el.tag, walk);
      else if (walk.blanking && el.tag === Tag.PixelData)
        this.#writeBlanked(w, el, walk);
      else if (walk.pixelText.length > 0 && el.tag === Tag.PixelData)
        this.#writePixelText(w, el, walk);
      else this.#writeElement(w, w.encoding, el, walk, 0, safe);
    }
    for (const tag of pending) this.#writeMarker(w, tag, walk);
  }

  /** Pixel Data with the blanking rule's rectangles zeroed. */
  #writeBlanked(w: DicomWriter, el: DicomElement, walk: Walk): void {
    const layout = pixelLayout({
      buffer: walk.buf,
      encoding: w.encoding,
      elements: walk.top,
    });
    const { pixels, rectangles } = blankPixels(
      valueBytes(walk.buf, el),
      layout,
      walk.blanking!,
    );
    w.element(el.tag, el.vr, pixels);
    walk.actions.blanked = (walk.actions.blanked ?? 0) + rectangles;
    walk.notices.push(
      `burned-in text blanked: ${rectangles} rectangle(s) over ${layout.frames} frame(s) by the rule for this device`,
    );
  }

  /**
   * Encapsulated Pixel Data with its text segments' payloads blanked in a
   * copy, each the same length: every other byte, fragment and offset
   * table as it came. Counted `pixelText`, one notice naming the kinds.
   */
  #writePixelText(w: DicomWriter, el: DicomElement, walk: Walk): void {
    const copy = Buffer.from(walk.buf.subarray(el.start, el.end));
    const kinds = new Map<string, number>();
    const frames = new Set<number>();
    for (const seg of walk.pixelText) {
      for (const r of seg.ranges)
        copy.fill(
          seg.fill,
          r.offset - el.start,
          r.offset - el.start + r.length,
        );
      kinds.set(seg.kind, (kinds.get(seg.kind) ?? 0) + 1);
      frames.add(seg.frame);
    }
    w.copy(copy, w.encoding, { ...el, start: 0, end: copy.length });
    walk.actions.pixelText =
      (walk.actions.pixelText ?? 0) + walk.pixelText.length;
    const where =
      frames.size === 1
        ? `frame ${[...frames][0]}`
        : frames.size <= 4
          ? `frames ${[...frames].join(', ')}`
          : `${frames.size} frames`;
    walk.notices.push(
      `text segments blanked in place in the ${walk.codestream ?? 'encapsulated'} pixel data (same lengths, same pixels): ${[...kinds].map(([k, n]) => `${k} x${n}`).join(', ')} in ${where}`,
    );
  }

  #writeMarker(w: DicomWriter, tag: number, walk: Walk): void {
    const o = this.#options;
    if (tag === Tag.PatientID) w.string(tag, 'LO', walk.pseudonym);
    else if (tag === Tag.BurnedInAnnotation) w.string(tag, 'CS', 'NO');
    else if (tag === Tag.SpecificCharacterSet) w.string(tag, 'CS', UTF8[0]!);
    else if (tag === Tag.PatientIdentityRemoved) w.string(tag, 'CS', 'YES');
    else if (tag === Tag.DeidentificationMethod) {
      w.string(tag, 'LO', DEIDENTIFICATION_METHOD);
    } else if (tag === Tag.DeidentificationMethodCodeSequence) {
      w.beginSequence(tag);
      for (const code of methodCodes(o, walk.blanking !== undefined)) {
        w.beginItem();
        w.string(Tag.CodeValue, 'SH', code.value);
        w.string(Tag.CodingSchemeDesignator, 'SH', 'DCM');
        w.string(Tag.CodeMeaning, 'LO', code.meaning);
        w.endItem();
      }
      w.endSequence();
    } else if (tag === Tag.LongitudinalTemporalInformationModified) {
      w.string(tag, 'CS', longitudinalMarker(o));
    }
  }

  /** Writes the items of a sequence; returns whether anything changed. */
  #writeSequence(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
    depth: number,
  ): boolean {
    const sub = new DicomWriter(w.encoding);
    sub.beginSequence(el.tag);
    // In UTF-8 every text value may change; the items are rewritten.
    let changed = walk.utf8;
    const outer = walk.charsets;
    for (const item of el.items ?? []) {
      sub.beginItem();
      // An item's own Specific Character Set applies to it and to the
      // items it holds (PS3.5 7.5.3).
      const own = findElement(item.elements, Tag.SpecificCharacterSet);
      walk.charsets = own ? readStrings(walk.buf, own) : outer;
      const { ordered, changed: reordered } = this.#inTagOrder(
        item.elements,
        item.unordered,
        walk,
      );
      if (reordered) changed = true;
      const orphans = this.#orphans(ordered);
      const safe = this.#safePrivate(walk.buf, ordered);
      for (const child of ordered) {
        // Overlays and curves go whole at every depth, as at the top.
        if (orphans.has(child.tag) || isOverlayOrCurve(child.tag)) {
          this.#count(walk, 'X');
          changed = true;
          continue;
        }
        changed =
          this.#writeElement(
            sub,
            item.encoding,
            child,
            walk,
            depth + 1,
            safe,
          ) || changed;
      }
      sub.endItem();
      walk.charsets = outer;
      if (
        item.encoding.explicitVR !== w.encoding.explicitVR ||
        item.encoding.littleEndian !== w.encoding.littleEndian
      )
        changed = true;
    }
    sub.endSequence();
    if (changed) w.append(sub);
    else w.copy(walk.buf, from, el);
    return changed;
  }

  /** Dependents (REQUIRES) whose required attribute this list loses. */
  #orphans(
    elements: readonly DicomElement[],
    types?: ReadonlyMap<number, IodType>,
  ): Set<number> {
    const out = new Set<number>();
    for (const [dependent, required] of REQUIRES) {
      const el = findElement(elements, required);
      if (!findElement(elements, dependent) || !el) continue;
      const type = types?.get(required);
      if (resolve(this.#table.actionFor(required), el.vr, type) === 'X')
        out.add(dependent);
    }
    return out;
  }

  /** Private tags kept by Retain Safe Private, or undefined when it is off. */
  #safePrivate(
    buf: Buffer,
    elements: readonly DicomElement[],
  ): Set<number> | undefined {
    return this.#options.retainSafePrivate
      ? safePrivateTags(buf, elements)
      : undefined;
  }

  #count(walk: Walk, action: string): void {
    walk.actions[action] = (walk.actions[action] ?? 0) + 1;
  }

  /** Writes one element under its action; returns whether it changed. */
  #writeElement(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
    depth: number,
    safe?: ReadonlySet<number>,
  ): boolean {
    if ((el.tag & 0xffff) === 0) {
      this.#count(walk, 'X');
      return true; // group lengths (retired, PS3.5 7.2) would be wrong after edits
    }
    if (walk.utf8 && el.tag === Tag.SpecificCharacterSet) {
      w.string(el.tag, 'CS', UTF8[0]!);
      return true;
    }
    if (el.tag === Tag.SpecificCharacterSet)
      return this.#characterSet(w, from, el, walk);
    if (safe?.has(el.tag)) {
      // On the safe list (or the creator of a block that is): PS3.15 E.3.10.
      this.#count(walk, 'safePrivate');
      return this.#copy(w, from, el, walk);
    }
    if (safe && isPrivateTag(el.tag)) {
      this.#count(walk, 'X');
      return true;
    }
    const listed = this.#table.actionFor(el.tag);
    // The IOD's type decides a combined code at the top level only: an
    // item's attributes belong to the sequence's own item description.
    let action = resolve(
      listed,
      el.vr,
      depth === 0 ? walk.types?.get(el.tag) : undefined,
    );
    if (listed === 'keep') {
      // Not in Table E.1-1: a person name is emptied, an element PS3.6
      // does not define or gives another VR is removed, a date follows
      // the longitudinal option, a UID is remapped, a URI removed (see
      // unlistedAction).
      const unlisted = unlistedAction(
        el.tag,
        el.vr,
        this.#options.longitudinal,
        this.#options.retainUIDs,
      );
      if (unlisted?.action === 'U')
        return this.#remapUnlisted(w, from, el, walk);
      if (unlisted) {
        this.#count(walk, unlisted.count);
        return this.#apply(w, from, el, unlisted.action, walk, depth, false);
      }
      if (el.vr === 'UI') return this.#keptUids(w, from, el, walk);
    }
    if (
      (el.tag === TextValue && this.#options.cleanStructuredContent) ||
      (el.tag === UnformattedTextValue && this.#options.cleanGraphics)
    )
      action = 'C';
    if (
      el.tag === Tag.PatientID ||
      el.tag === Tag.PatientName ||
      el.tag === Tag.AccessionNumber
    )
      action = 'D';
    try {
      return action === 'K' && !el.items
        ? this.#retain(w, from, el, walk, depth)
        : this.#apply(w, from, el, action, walk, depth);
    } catch {
      // Never the whole file for one element: it goes, and the object
      // says so in its counts (`fallback`, also counted X) and warnings.
      walk.warnings.push(
        `could not apply ${action} to ${tagString(el.tag)}: removed`,
      );
      this.#count(walk, 'X');
      this.#count(walk, 'fallback');
      return true;
    }
  }

  #apply(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    action: ElementAction,
    walk: Walk,
    depth: number,
    count = true,
  ): boolean {
    switch (action) {
      case 'keep':
      case 'K':
        if (el.items) return this.#writeSequence(w, from, el, walk, depth);
        this.#checkDeclared(el, walk);
        if (action === 'keep' && walk.kept && KEPT_TEXT_VRS.has(el.vr)) {
          // Clean Descriptors: no text the table does not list repeats
          // this object's own identifiers (see keptText). What the table
          // keeps (K: an option the lake chose, such as Retain Device
          // Identity's StationName) is judged by #retain.
          const values = readStrings(walk.buf, el, walk.charsets);
          const cleaned = cleanKept(el.tag, el.vr, values, walk.kept);
          if (cleaned) {
            this.#count(walk, 'C');
            this.#text(w, el, walk, cleaned);
            return true;
          }
        }
        return this.#copy(w, from, el, walk);
      case 'X':
        if (count) this.#count(walk, 'X');
        return true;
      case 'Z':
        if (count) this.#count(walk, 'Z');
        if (el.items) {
          w.beginSequence(el.tag);
          w.endSequence();
        } else w.element(el.tag, el.vr, Buffer.alloc(0));
        return true;
      case 'D':
        this.#dummy(w, el, walk);
        this.#count(walk, 'D'); // after: a failure is counted X instead
        return true;
      case 'C':
        if (el.items) return this.#writeSequence(w, from, el, walk, depth);
        if (keptCleaned(el.tag)) this.#checkDeclared(el, walk);
        this.#clean(w, el, walk);
        if (count) this.#count(walk, 'C');
        return true;
      case 'U':
        this.#remapUids(w, el, walk);
        this.#count(walk, 'U');
        return true;
      default:
        this.#count(walk, 'X');
        this.#count(walk, 'fallback');
        walk.warnings.push(
          `unknown action ${action} on ${tagString(el.tag)}: removed`,
        );
        return true;
    }
  }

  /**
   * An element a retain option keeps (K: Retain Patient Characteristics,
   * Device Identity, Institution Identity, UIDs, Full Dates), kept only
   * with values the attribute can hold. An age (AS) is kept in AS's form,
   * `090Y` over 89 years (see keptAge). A value without its VR's form (a
   * number, date, time, code or UID that is none) or outside the
   * attribute's Enumerated Values (retainedFault) may be anything, a name
   * or an ID: the element gets the Basic Profile's action instead (X, Z or
   * D as the table gives it), counted `unretained`, with a notice naming
   * the tag and the kind of fault, never the value. Text (SH, LO, ST, LT,
   * UT, UC) and codes (CS) are cleaned of this object's identifiers as
   * kept text is under Clean Descriptors (cleanKept), counted
   * `retainedCleaned`; a value cleaned to nothing gets the Basic
   * Profile's action too.
   */
  #retain(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
    depth: number,
  ): boolean {
    const basic = (fault: string): boolean => {
      const action = resolve(
        this.#table.basicFor(el.tag),
        el.vr,
        depth === 0 ? walk.types?.get(el.tag) : undefined,
      );
      this.#count(walk, 'unretained');
      const notice = `${tagString(el.tag)} ${lookupTag(el.tag)?.[1] ?? ''} is kept by a retain option, but its value is ${fault}: the Basic Profile's ${action} applied instead`;
      noticeOnce(walk, notice);
      return this.#apply(w, from, el, action, walk, depth);
    };
    if (el.tag === PREGNANCY_STATUS && el.vr === 'US') {
      const bytes = valueBytes(walk.buf, el);
      for (let at = 0; at + 2 <= bytes.length; at += 2) {
        const n = from.littleEndian
          ? bytes.readUInt16LE(at)
          : bytes.readUInt16BE(at);
        if (!PREGNANCY_STATUS_VALUES.includes(n))
          return basic('not one of its Enumerated Values (0001-0004, PS3.3)');
      }
      return this.#apply(w, from, el, 'K', walk, depth);
    }
    if (!isStringVr(el.vr) || el.length === 0)
      return this.#apply(w, from, el, 'K', walk, depth);
    const values = readStrings(walk.buf, el, walk.charsets);
    if (el.vr === 'AS') {
      const ages = values.map((v) => (v === '' ? '' : keptAge(v)));
      if (ages.some((a) => a === undefined))
        return basic(
          'not an age (PS3.5 6.2: nnnD, nnnW, nnnM or nnnY, or a number of them)',
        );
      if (ages.join('\\') === values.join('\\'))
        return this.#apply(w, from, el, 'K', walk, depth);
      // Over 89 years: 090Y (HIPAA 164.514(b)(2)(i)(C), as age_years).
      this.#count(
        walk,
        ages.includes(CAPPED_AGE) && !values.includes(CAPPED_AGE)
          ? 'ageCapped'
          : 'ageRewritten',
      );
      w.string(el.tag, el.vr, ages.join('\\'));
      return true;
    }
    const fault = retainedFault(el.tag, el.vr, values);
    if (fault) return basic(fault);
    if (!walk.retainedText || !KEPT_TEXT_VRS.has(el.vr))
      return this.#apply(w, from, el, 'K', walk, depth);
    const cleaned = cleanKept(el.tag, el.vr, values, walk.retainedText);
    if (!cleaned) return this.#apply(w, from, el, 'K', walk, depth);
    if (cleaned.every((v) => v.trim() === ''))
      return basic("the patient's own names or IDs and nothing else");
    this.#checkDeclared(el, walk);
    this.#count(walk, 'retainedCleaned');
    this.#text(w, el, walk, cleaned);
    return true;
  }

  /**
   * A UID element the table does not list that is kept as it came (one
   * that names a SOP class or transfer syntax, or any under Retain UIDs):
   * a value that is no UID (PS3.5 9.1) may hold anything, so it is
   * remapped with the keyed map as other UIDs are, counted `invalidUid`,
   * with a notice naming the tag. Returns whether it changed.
   */
  #keptUids(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
  ): boolean {
    const values = readStrings(walk.buf, el);
    if (values.every((v) => v === '' || isValidUid(v)))
      return this.#apply(w, from, el, 'keep', walk, 0);
    this.#count(walk, 'invalidUid');
    const notice = `${tagString(el.tag)} holds a value that is not a UID (PS3.5 9.1): remapped`;
    noticeOnce(walk, notice);
    w.string(
      el.tag,
      'UI',
      values
        .map((v) => (v === '' || isValidUid(v) ? v : this.#keys.uid(v)))
        .join('\\'),
    );
    return true;
  }

  /**
   * Specific Character Set as lpacs reads it (definedCharsets): as it came
   * when each value is a Defined Term of PS3.3 C.12.1.1.2 in the
   * standard's spelling; else written with those alone, or removed when
   * none is left (the text is then read as the default repertoire, as
   * decodeText reads it). A value that is no Defined Term may be an ID or a
   * name: the notice says how many went, never what. Counted
   * `characterSet`. Returns whether it changed.
   */
  #characterSet(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
  ): boolean {
    const values = readStrings(walk.buf, el);
    const { charsets, dropped } = definedCharsets(values);
    if (charsets.join('\\') === values.join('\\'))
      return this.#copy(w, from, el, walk);
    this.#count(walk, 'characterSet');
    if (dropped > 0)
      walk.notices.push(
        `${tagString(el.tag)} SpecificCharacterSet held ${dropped} value(s) that are no Defined Term of PS3.3 C.12.1.1.2: removed, its text read as ${charsets.join('\\') || 'the default repertoire'}`,
      );
    if (charsets.length > 0) w.string(el.tag, 'CS', charsets.join('\\'));
    return true;
  }

  /**
   * A notice, once per tag, when a kept text value's bytes are not text of
   * the character set in force (decodesAsDeclared: UTF-8 under ISO_IR 100,
   * Latin-1 under ISO_IR 192, anything beyond ASCII without a set): the
   * value is read, cleaned and written as that set says, and the names it
   * is cleaned of are matched also in such misreadings (see readIdentity),
   * but a reader may show it otherwise. The tag and set, never the value.
   */
  #checkDeclared(el: DicomElement, walk: Walk): void {
    if (!CHARSET_VRS.has(el.vr) || el.length === 0 || el.fragments) return;
    // Most values are ASCII, which every set reads alike: no view made.
    const end = el.valueOffset + el.length;
    if (plainAscii(walk.buf, el.valueOffset, end)) return;
    if (decodesAsDeclared(valueBytes(walk.buf, el), walk.charsets)) return;
    const set =
      definedCharsets(walk.charsets).charsets.join('\\') ||
      'the default repertoire';
    const notice = `${tagString(el.tag)} holds bytes that are not text of ${set}, the character set (0008,0005) declares: read as declared, and cleaned of names in their mis-encoded forms too`;
    noticeOnce(walk, notice);
  }

  /**
   * An element as it came, or, in a UTF-8 walk, a text value re-encoded
   * from its own character set; returns whether it changed.
   */
  #copy(w: DicomWriter, from: Encoding, el: DicomElement, walk: Walk): boolean {
    if (
      el.length % 2 === 1 &&
      el.length !== 0xffffffff &&
      !el.items &&
      !el.fragments &&
      isByteVr(el.vr) &&
      !(walk.utf8 && CHARSET_VRS.has(el.vr))
    ) {
      // An odd length (PS3.5 7.1.1 wants even ones): the value as it came
      // and one padding byte, NUL for UI and bytes, a space for text
      // (PS3.5 6.2). Counted, so a padded object is told from one copied.
      const pad = NUL_PADDED.has(el.vr) ? NUL : SPACE;
      w.element(el.tag, el.vr, Buffer.concat([valueBytes(walk.buf, el), pad]));
      this.#count(walk, 'padded');
      return true;
    }
    if (!walk.utf8 || !CHARSET_VRS.has(el.vr) || el.items || el.fragments) {
      w.copy(walk.buf, from, el);
      return false;
    }
    const bytes = utf8Value(valueBytes(walk.buf, el), walk.charsets);
    if (!bytes) walk.undecodable = true;
    w.element(el.tag, el.vr, bytes ?? Buffer.alloc(0));
    return true;
  }

  /**
   * Writes text values under the character set in force (UTF-8 in a UTF-8
   * walk). A character the set cannot hold marks the walk lossy, so the
   * object is written again in UTF-8; this walk's bytes drop it (see
   * encodeText), with the spaces it leaves, so no byte goes out under a
   * label that says otherwise even when that cannot be done.
   */
  #text(w: DicomWriter, el: DicomElement, walk: Walk, values: string[]): void {
    const charsets = walk.utf8 ? UTF8 : walk.charsets;
    const parts = values.map((v) => {
      const exact = encodeTextExactly(v, charsets);
      if (exact) return exact;
      walk.lossy = true;
      // Squeezes what dropped characters leave; latin1 keeps every byte.
      const text = encodeText(v, charsets)
        .toString('latin1')
        .replace(/ {2,}/g, ' ')
        .trim();
      return Buffer.from(text, 'latin1');
    });
    const joined = Buffer.concat(
      parts.flatMap((p, i) => (i ? [BACKSLASH, p] : [p])),
    );
    w.element(
      el.tag,
      el.vr,
      joined.length % 2 ? Buffer.concat([joined, SPACE]) : joined,
    );
  }

  #dummy(w: DicomWriter, el: DicomElement, walk: Walk): void {
    if (el.tag === Tag.PatientID || el.tag === Tag.PatientName) {
      w.string(
        el.tag,
        el.vr,
        el.length === 0 && el.tag === Tag.PatientName ? '' : walk.pseudonym,
      );
      return;
    }
    if (el.tag === Tag.AccessionNumber) {
      const value = readString(walk.buf, el);
      const pseudonym = value ? this.#keys.accession(value) : '';
      if (value) walk.accessions.push([value.trim(), pseudonym]);
      w.string(el.tag, el.vr, pseudonym);
      return;
    }
    if (el.items) {
      w.beginSequence(el.tag);
      w.endSequence();
      return;
    }
    if (
      (el.vr === 'DA' || el.vr === 'DT') &&
      this.#options.longitudinal !== 'off'
    ) {
      this.#clean(w, el, walk);
      return;
    }
    if (el.vr === 'UI') {
      this.#remapUids(w, el, walk);
      return;
    }
    const dummy = DUMMY[el.vr];
    if (dummy !== undefined)
      w.string(el.tag, el.vr, el.length === 0 ? '' : dummy);
    else w.element(el.tag, el.vr, Buffer.alloc(el.length)); // binary: zeros, same size
  }

  #clean(w: DicomWriter, el: DicomElement, walk: Walk): void {
    const values = readStrings(walk.buf, el, walk.charsets);
    if (el.vr === 'DA' || el.vr === 'DT') {
      const shift = this.#options.longitudinal === 'modified' ? walk.shift : 0;
      const shifted = values.map((v) =>
        v === '' ? '' : el.vr === 'DA' ? shiftDA(v, shift) : shiftDT(v, shift),
      );
      if (shifted.some((v) => v === undefined)) {
        walk.warnings.push(`unreadable date in ${tagString(el.tag)}: emptied`);
        w.element(el.tag, el.vr, Buffer.alloc(0));
        return;
      }
      this.#text(w, el, walk, shifted as string[]);
      return;
    }
    if (el.vr === 'TM') {
      // Whole-day shifts keep times. The ACR-NEMA `HH:MM:SS` form is
      // rewritten without colons (PS3.5 6.2 TM note); anything else that
      // is not a time is removed.
      const times = values.map((v) =>
        /^[\d:.]+$/.test(v) ? v.replace(/:/g, '') : v,
      );
      if (times.some((v) => v !== '' && !isTime(v))) {
        walk.warnings.push(`unreadable time in ${tagString(el.tag)}: emptied`);
        w.element(el.tag, el.vr, Buffer.alloc(0));
      } else if (times.join('\\') === values.join('\\'))
        w.element(el.tag, el.vr, Buffer.from(valueBytes(walk.buf, el)));
      else w.string(el.tag, el.vr, times.join('\\'));
      return;
    }
    if (CLEANED_TEXT_VRS.has(el.vr)) {
      const cleaned = keptCleaned(el.tag)
        ? values.map((v) => cleanText(v, walk.identifiers))
        : // Comments, histories, occupations: free text with no clinical
          // wording worth the risk; removing is always allowed for C.
          [];
      if (
        cleaned.every((v) => v.trim() === '') &&
        el.length > 0 &&
        this.#table.needsValue(el.tag)
      ) {
        // A label the Basic Profile would replace with a dummy (D: type 1
        // in some IOD, as RT Plan Label and Structure Set Label are)
        // gets the dummy, not an empty value, when cleaning leaves none.
        this.#dummy(w, el, walk);
        return;
      }
      if (!keptCleaned(el.tag)) w.element(el.tag, el.vr, Buffer.alloc(0));
      else this.#text(w, el, walk, cleaned);
      return;
    }
    w.element(el.tag, el.vr, Buffer.alloc(0));
  }

  /**
   * A UID the table does not list: each value remapped with the keyed
   * map as the table's own UIDs are, so a reference to another object
   * follows its new UID, but a UID the standard defines (isStandardUid).
   * Copied as it came, and not counted, when no value changes.
   */
  #remapUnlisted(
    w: DicomWriter,
    from: Encoding,
    el: DicomElement,
    walk: Walk,
  ): boolean {
    const values = readStrings(walk.buf, el);
    const mapped = values.map((v) =>
      v === '' || isStandardUid(v) ? v : this.#keys.uid(v),
    );
    if (mapped.every((v, i) => v === values[i]))
      return this.#copy(w, from, el, walk);
    this.#count(walk, 'unlistedUid');
    w.string(el.tag, 'UI', mapped.join('\\'));
    return true;
  }

  #remapUids(w: DicomWriter, el: DicomElement, walk: Walk): void {
    if (el.vr !== 'UI') {
      w.element(el.tag, el.vr, Buffer.alloc(0));
      return;
    }
    const values = readStrings(walk.buf, el);
    const mapped = this.#options.retainUIDs
      ? values
      : values.map((v) => (v ? this.#keys.uid(v) : ''));
    w.string(el.tag, 'UI', mapped.join('\\'));
  }
}
