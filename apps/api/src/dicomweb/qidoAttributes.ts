/** How a query key matches (PS3.4 C.2.2.2). */
export type Matching = 'uid' | 'string' | 'date' | 'integer' | 'none';

/** An attribute QIDO-RS can return and perhaps match on. */
export interface QidoAttribute {
  keyword: string;
  tag: string;
  vr: string;
  /** SQL giving the attribute of a group of instances (one study, ...). */
  select: string;
  /** SQL one instance row matches on, when the attribute is a key. */
  column?: string;
  matching: Matching;
}

/** The query levels of PS3.18 10.6. */
export type QidoLevel = 'study' | 'series' | 'instance';

function a(
  keyword: string,
  tag: string,
  vr: string,
  select: string,
  matching: Matching,
  column?: string,
): QidoAttribute {
  return { keyword, tag, vr, select, matching, ...(column ? { column } : {}) };
}

function own(keyword: string, tag: string, vr: string, m: Matching) {
  return a(keyword, tag, vr, `any_value("${keyword}")`, m, `"${keyword}"`);
}

const STUDY: QidoAttribute[] = [
  a(
    'StudyDate',
    '00080020',
    'DA',
    `strftime(min("StudyDate"), '%Y%m%d')`,
    'date',
    '"StudyDate"',
  ),
  own('StudyDescription', '00081030', 'LO', 'string'),
  a(
    'ModalitiesInStudy',
    '00080061',
    'CS',
    `list_sort(list(DISTINCT "Modality") FILTER (WHERE "Modality" IS NOT NULL))`,
    'string',
  ),
  own('PatientID', '00100020', 'LO', 'string'),
  own('PatientSex', '00100040', 'CS', 'string'),
  own('PatientAge', '00101010', 'AS', 'none'),
  own('StudyInstanceUID', '0020000D', 'UI', 'uid'),
  a(
    'NumberOfStudyRelatedSeries',
    '00201206',
    'IS',
    'count(DISTINCT "SeriesInstanceUID")',
    'none',
  ),
  a('NumberOfStudyRelatedInstances', '00201208', 'IS', 'count(*)', 'none'),
];

const SERIES: QidoAttribute[] = [
  own('Modality', '00080060', 'CS', 'string'),
  own('SeriesDescription', '0008103E', 'LO', 'string'),
  own('SeriesNumber', '00200011', 'IS', 'integer'),
  own('SeriesInstanceUID', '0020000E', 'UI', 'uid'),
  own('BodyPartExamined', '00180015', 'CS', 'string'),
  a(
    'SeriesDate',
    '00080021',
    'DA',
    `strftime(min("SeriesDate"), '%Y%m%d')`,
    'date',
    '"SeriesDate"',
  ),
  own('Manufacturer', '00080070', 'LO', 'string'),
  own('ManufacturerModelName', '00081090', 'LO', 'string'),
  a('NumberOfSeriesRelatedInstances', '00201209', 'IS', 'count(*)', 'none'),
];

const INSTANCE: QidoAttribute[] = [
  own('SOPClassUID', '00080016', 'UI', 'uid'),
  own('SOPInstanceUID', '00080018', 'UI', 'uid'),
  own('InstanceNumber', '00200013', 'IS', 'integer'),
  own('Rows', '00280010', 'US', 'integer'),
  own('Columns', '00280011', 'US', 'integer'),
  own('NumberOfFrames', '00280008', 'IS', 'integer'),
  own('BitsAllocated', '00280100', 'US', 'none'),
  own('BitsStored', '00280101', 'US', 'none'),
  own('SamplesPerPixel', '00280002', 'US', 'none'),
  own('PhotometricInterpretation', '00280004', 'CS', 'string'),
  a(
    'AvailableTransferSyntaxUID',
    '00083002',
    'UI',
    'any_value("TransferSyntaxUID")',
    'none',
  ),
];

/** Counts and lists describe their own level only, not a lower one's rows. */
function isPlain(attr: QidoAttribute): boolean {
  return !/^NumberOf|^ModalitiesInStudy$/.test(attr.keyword);
}

/** Returned at each level unless asked (PS3.18 Tables 10.6.3-3 to -5). */
export const DEFAULT_FIELDS: Record<QidoLevel, string[]> = {
  study: [
    'StudyDate',
    'StudyDescription',
    'ModalitiesInStudy',
    'PatientID',
    'PatientSex',
    'StudyInstanceUID',
    'NumberOfStudyRelatedSeries',
    'NumberOfStudyRelatedInstances',
  ],
  series: [
    'Modality',
    'SeriesDescription',
    'SeriesNumber',
    'SeriesInstanceUID',
    'NumberOfSeriesRelatedInstances',
    'StudyInstanceUID',
  ],
  instance: [
    'SOPClassUID',
    'SOPInstanceUID',
    'InstanceNumber',
    'Rows',
    'Columns',
    'NumberOfFrames',
    'BitsAllocated',
    'AvailableTransferSyntaxUID',
    'StudyInstanceUID',
    'SeriesInstanceUID',
  ],
};

/**
 * Attributes a query at a level can match on or include: its own and its
 * parents' (a series query may match on StudyDate, PS3.18 10.6.1.2.1).
 */
export const LEVEL_ATTRIBUTES: Record<QidoLevel, QidoAttribute[]> = {
  study: STUDY,
  series: [...SERIES, ...STUDY.filter(isPlain)],
  instance: [...INSTANCE, ...SERIES.filter(isPlain), ...STUDY.filter(isPlain)],
};

/** The attribute a query key names, by keyword or 8 hex digits. */
export function findAttribute(
  level: QidoLevel,
  key: string,
): QidoAttribute | undefined {
  const upper = key.toUpperCase();
  return LEVEL_ATTRIBUTES[level].find(
    (attr) => attr.keyword === key || attr.tag === upper,
  );
}
