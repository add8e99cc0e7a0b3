/** One PS3.6 data dictionary entry: VR, keyword, VM and whether retired. */
export type DictionaryEntry = readonly [
  vr: string,
  keyword: string,
  vm: string,
  retired: 0 | 1,
];

/** A repeating-group entry such as (60xx,3000), matched by `tag & mask`. */
export type DictionaryPattern = readonly [
  mask: number,
  value: number,
  vr: string,
  keyword: string,
  vm: string,
  retired: 0 | 1,
];

/** An action code of PS3.15 Table E.1-1 (single or IOD-dependent). */
export type ProfileAction =
  | 'X'
  | 'Z'
  | 'D'
  | 'K'
  | 'C'
  | 'U'
  | 'X/Z'
  | 'X/D'
  | 'X/Z/D'
  | 'Z/D'
  | 'X/Z/U*';

/** The option columns of PS3.15 Table E.1-1. */
export type ProfileOption =
  | 'rtnLongFullDatesOpt'
  | 'rtnLongModifDatesOpt'
  | 'cleanDescOpt'
  | 'rtnUIDsOpt'
  | 'rtnDevIdOpt'
  | 'rtnPatCharsOpt'
  | 'rtnInstIdOpt'
  | 'cleanGraphOpt'
  | 'cleanStructContOpt'
  | 'rtnSafePrivOpt';

/** The basic-profile action of one row and its action under each option. */
export interface ProfileActions {
  basic: ProfileAction;
  options: Partial<Record<ProfileOption, ProfileAction>>;
}

/** One row of Table E.1-1; a tag matches when `(tag & mask) === value`. */
export interface ProfileRule extends ProfileActions {
  mask: number;
  value: number;
  keyword: string;
  name: string;
  inStdIod: boolean;
}

/** How the bytes of a data set are laid out (PS3.5 section 7). */
export interface Encoding {
  littleEndian: boolean;
  explicitVR: boolean;
}

/** A parsed data element; offsets index into its data set's buffer. */
export interface DicomElement {
  /** `(group << 16 | element) >>> 0`. */
  tag: number;
  vr: string;
  /** Offset of the element's first (tag) byte. */
  start: number;
  /** Offset of the value's first byte. */
  valueOffset: number;
  /** Bytes in the value; for undefined length, the span up to the delimiter. */
  length: number;
  undefinedLength: boolean;
  /** Offset one past the element, delimiters included. */
  end: number;
  /** Sequence items, when the element is a sequence. */
  items?: DicomItem[];
  /** Fragment spans, when the element is encapsulated pixel data. */
  fragments?: Array<{ offset: number; length: number }>;
}

/** One item of a sequence, with the encoding its elements use. */
export interface DicomItem {
  start: number;
  end: number;
  encoding: Encoding;
  elements: DicomElement[];
  /**
   * True when the bytes held elements out of ascending tag order or one
   * tag more than once (PS3.5 7.1 forbids both): `elements` is then
   * sorted by tag, twins in the order read.
   */
  unordered?: true;
}

/** A parsed data set: its bytes, its encoding and its top-level elements. */
export interface DataSet {
  buffer: Buffer;
  encoding: Encoding;
  elements: DicomElement[];
  /** As DicomItem's: the data set's top-level elements were read out of order or twice. */
  unordered?: true;
}

/** A parsed DICOM file (PS3.10): file meta information and data set. */
export interface DicomFile {
  meta: DataSet;
  body: DataSet;
  transferSyntaxUID: string;
  /** False when the file lacked the 128-byte preamble and `DICM`. */
  hasPreamble: boolean;
  /** Oddities that were tolerated, e.g. trailing padding; never values. */
  warnings: string[];
}
