export {
  decodeText,
  decodesAsDeclared,
  definedCharsets,
  encodeText,
  encodeTextExactly,
  isSingleByteLatin,
  likelyCharsets,
  misreadings,
  plainAscii,
} from './charset';
export type { DefinedCharsets } from './charset';
export {
  implicitVr,
  isKeyword,
  keywordOf,
  lookupKeyword,
  lookupTag,
} from './dictionary';
export { DicomWriter, encodeFileMeta, encodeString } from './DicomWriter';
export type { FileMeta } from './DicomWriter';
export { DicomError, DicomErrorCode } from './errors';
export {
  PRIVATE_RULE,
  PROFILE_EDITION,
  PROFILE_RULES,
} from './generated/confidentialityProfile';
export { IOD_TYPES_SOURCE, iodOf, iodTypesFor } from './iodTypes';
export type { IodType } from './iodTypes';
export { parseDicom, parseDicomLeading } from './parseDicom';
export { Tag, isPrivateCreator, isPrivateTag, tagHex, tagString } from './tags';
export {
  EXPLICIT_BE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  TransferSyntax,
  encodingOf,
  isEncapsulated,
} from './transferSyntax';
export type * from './types';
export {
  findElement,
  readDecimals,
  readNumber,
  readString,
  readStrings,
  topString,
  trimValue,
  valueBytes,
} from './values';
export { isNumberVr, isStringVr, wordSize } from './vr';
