import type { ProfileOption } from '@lpacs/dicom';
import type { BlankingRule } from './blanking';

/**
 * Kinds of objects at risk that a lake may be told to accept as they
 * are: secondary captures without BurnedInAnnotation (0028,0301) = NO,
 * and objects that may show the patient recognizably (RecognizableVisual
 * Features (0028,0302) YES, or a photograph that does not say NO), for
 * which lpacs has no cleaning. Ultrasound, endoscopy, photographs and
 * documents without BurnedInAnnotation NO are not among them: those need
 * NO or a blanking rule.
 */
export const UNMARKED_KINDS = [
  'recognizable-visual-features',
  'secondary-capture',
] as const;
export type UnmarkedKind = (typeof UNMARKED_KINDS)[number];

/**
 * The PS3.15 E.1-1 options a lake applies on top of the Basic Profile.
 * Recorded in every object (0012,0063-0064) and in every ingest report.
 */
export interface DeidOptions {
  /** Retain Longitudinal Temporal Information: off, full dates, or dates shifted per patient. */
  longitudinal: 'off' | 'full' | 'modified';
  retainPatientCharacteristics: boolean;
  retainDeviceIdentity: boolean;
  retainUIDs: boolean;
  retainInstitutionIdentity: boolean;
  retainSafePrivate: boolean;
  cleanDescriptors: boolean;
  cleanStructuredContent: boolean;
  cleanGraphics: boolean;
  /**
   * Per-device rectangles of burned-in text to zero in the pixels of
   * objects that would otherwise be refused (see BlankingRule).
   */
  blanking: BlankingRule[];
  /**
   * Kinds the operator accepts unmarked: such an object is ingested with
   * a notice instead of quarantined (`lpacs init --accept-unmarked`).
   */
  acceptUnmarked: UnmarkedKind[];
}

/** The options that are on or off. */
export const BOOLEAN_KEYS = [
  'retainPatientCharacteristics',
  'retainDeviceIdentity',
  'retainUIDs',
  'retainInstitutionIdentity',
  'retainSafePrivate',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
] as const;

/**
 * The research default: dates shifted per patient (intervals kept), sex,
 * age, size and weight kept, free-text descriptors cleaned rather than
 * removed (cohorts are built on them), everything else by the Basic Profile.
 */
export const RESEARCH_DEFAULT: Readonly<DeidOptions> = {
  longitudinal: 'modified',
  retainPatientCharacteristics: true,
  retainDeviceIdentity: false,
  retainUIDs: false,
  retainInstitutionIdentity: false,
  retainSafePrivate: false,
  cleanDescriptors: true,
  cleanStructuredContent: false,
  cleanGraphics: false,
  blanking: [],
  acceptUnmarked: [],
};

/** A code of CID 7050 (De-identification Method), PS3.16. */
export interface MethodCode {
  value: string;
  meaning: string;
}

const BASIC: MethodCode = {
  value: '113100',
  meaning: 'Basic Application Confidentiality Profile',
};

/** CID 7050 113101, written on objects whose pixels were blanked. */
export const CLEAN_PIXEL_DATA: MethodCode = {
  value: '113101',
  meaning: 'Clean Pixel Data Option',
};

/** The table columns an option switches on, and its CID 7050 code. */
export function selectedOptions(
  o: DeidOptions,
): Array<{ column: ProfileOption; code: MethodCode }> {
  const out: Array<{ column: ProfileOption; code: MethodCode }> = [];
  const add = (
    on: boolean,
    column: ProfileOption,
    value: string,
    meaning: string,
  ) => {
    if (on) out.push({ column, code: { value, meaning } });
  };
  add(o.cleanGraphics, 'cleanGraphOpt', '113103', 'Clean Graphics Option');
  add(
    o.cleanStructuredContent,
    'cleanStructContOpt',
    '113104',
    'Clean Structured Content Option',
  );
  add(o.cleanDescriptors, 'cleanDescOpt', '113105', 'Clean Descriptors Option');
  add(
    o.longitudinal === 'full',
    'rtnLongFullDatesOpt',
    '113106',
    'Retain Longitudinal Temporal Information Full Dates Option',
  );
  add(
    o.longitudinal === 'modified',
    'rtnLongModifDatesOpt',
    '113107',
    'Retain Longitudinal Temporal Information Modified Dates Option',
  );
  add(
    o.retainPatientCharacteristics,
    'rtnPatCharsOpt',
    '113108',
    'Retain Patient Characteristics Option',
  );
  add(
    o.retainDeviceIdentity,
    'rtnDevIdOpt',
    '113109',
    'Retain Device Identity Option',
  );
  add(o.retainUIDs, 'rtnUIDsOpt', '113110', 'Retain UIDs Option');
  add(
    o.retainSafePrivate,
    'rtnSafePrivOpt',
    '113111',
    'Retain Safe Private Option',
  );
  add(
    o.retainInstitutionIdentity,
    'rtnInstIdOpt',
    '113112',
    'Retain Institution Identity Option',
  );
  return out;
}

/**
 * CID 7050 codes for the profile and options in force, Basic first, in
 * code order; `pixelsCleaned` adds Clean Pixel Data (113101).
 */
export function methodCodes(
  o: DeidOptions,
  pixelsCleaned = false,
): MethodCode[] {
  const codes = selectedOptions(o).map((s) => s.code);
  if (pixelsCleaned) codes.push(CLEAN_PIXEL_DATA);
  codes.sort((a, b) => a.value.localeCompare(b.value));
  return [BASIC, ...codes];
}
