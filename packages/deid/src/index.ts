export { ActionTable, unlistedAction } from './actionTable';
export type { ElementAction } from './actionTable';
export { parseBlankingRules } from './blanking';
export type { BlankingRectangle, BlankingRule } from './blanking';
export { cleanText, identifierPattern } from './cleanText';
export {
  CAPPED_AGE,
  ageFromAS,
  cappedAge,
  shiftDA,
  shiftDT,
  yearsBetween,
} from './dates';
export { DeidError, DeidErrorCode } from './DeidError';
export { isValidUid, keptAge } from './retainedValues';
export {
  BURNED_IN_CLASSES,
  BURNED_IN_MODALITIES,
  burnedInRisk,
  recognizableRisk,
} from './burnedInRisk';
export type { Risk, RiskFacts } from './burnedInRisk';
export {
  Deidentifier,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  admission,
} from './Deidentifier';
export type { Admission, DeidOutcome, LinkageRecord } from './Deidentifier';
export { readIdentity } from './identity';
export type { PatientIdentity } from './identity';
export {
  CLEAN_PIXEL_DATA,
  RESEARCH_DEFAULT,
  UNMARKED_KINDS,
  methodCodes,
  selectedOptions,
} from './options';
export type { DeidOptions, MethodCode, UnmarkedKind } from './options';
export { SAFE_PRIVATE, safePrivateTags } from './safePrivate';
export type { SafePrivateElement } from './safePrivate';
export {
  ACCESSION_PSEUDONYM,
  PATIENT_PSEUDONYM,
  SiteKeys,
  isKeyedUid,
  normalisePersonName,
} from './SiteKeys';
export { parseOptions } from './parseOptions';
export { verifyDeidentified } from './verifyDeidentified';
