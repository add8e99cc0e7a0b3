import type { Column, ColumnType, TableName, TableSchema } from './types';

function col(name: string, type: ColumnType, description: string): Column {
  return { name, type, description };
}

const PATIENT = [
  col(
    'PatientID',
    'VARCHAR',
    'Keyed pseudonym of the original PatientID (0010,0020)',
  ),
  col('PatientSex', 'VARCHAR', 'PatientSex (0010,0040): M, F, O or NULL'),
];

const STUDY = [
  col('StudyInstanceUID', 'VARCHAR', 'Remapped StudyInstanceUID (0020,000D)'),
  col('StudyDate', 'DATE', 'StudyDate (0008,0020), shifted per patient'),
  col('StudyDescription', 'VARCHAR', 'StudyDescription (0008,1030), cleaned'),
  col('PatientAge', 'VARCHAR', 'PatientAge (0010,1010) as in the object'),
  col(
    'age_years',
    'INTEGER',
    'Age at the study in whole years, 90 for 90 and over',
  ),
];

const SERIES = [
  col('SeriesInstanceUID', 'VARCHAR', 'Remapped SeriesInstanceUID (0020,000E)'),
  col('Modality', 'VARCHAR', 'Modality (0008,0060)'),
  col('SeriesDescription', 'VARCHAR', 'SeriesDescription (0008,103E), cleaned'),
  col('SeriesNumber', 'INTEGER', 'SeriesNumber (0020,0011)'),
  col('SeriesDate', 'DATE', 'SeriesDate (0008,0021), shifted per patient'),
  col('BodyPartExamined', 'VARCHAR', 'BodyPartExamined (0018,0015)'),
  col('Manufacturer', 'VARCHAR', 'Manufacturer (0008,0070)'),
  col('ManufacturerModelName', 'VARCHAR', 'ManufacturerModelName (0008,1090)'),
];

const INSTANCE = [
  col('SOPInstanceUID', 'VARCHAR', 'Remapped SOPInstanceUID (0008,0018)'),
  col('SOPClassUID', 'VARCHAR', 'SOPClassUID (0008,0016)'),
  col('InstanceNumber', 'INTEGER', 'InstanceNumber (0020,0013)'),
  col('Rows', 'INTEGER', 'Rows (0028,0010)'),
  col('Columns', 'INTEGER', 'Columns (0028,0011)'),
  col(
    'NumberOfFrames',
    'INTEGER',
    'NumberOfFrames (0028,0008), 1 when absent on an image',
  ),
  col('BitsAllocated', 'INTEGER', 'BitsAllocated (0028,0100)'),
  col('BitsStored', 'INTEGER', 'BitsStored (0028,0101)'),
  col('SamplesPerPixel', 'INTEGER', 'SamplesPerPixel (0028,0002)'),
  col(
    'PhotometricInterpretation',
    'VARCHAR',
    'PhotometricInterpretation (0028,0004)',
  ),
  col('PixelSpacingRow', 'DOUBLE', 'PixelSpacing (0028,0030) first value, mm'),
  col(
    'PixelSpacingColumn',
    'DOUBLE',
    'PixelSpacing (0028,0030) second value, mm',
  ),
  col('SliceThickness', 'DOUBLE', 'SliceThickness (0018,0050), mm'),
  col(
    'TransferSyntaxUID',
    'VARCHAR',
    'TransferSyntaxUID (0002,0010) of the stored object',
  ),
  col(
    'object_key',
    'VARCHAR',
    'Path of the de-identified object under the lake',
  ),
  col('sha256', 'VARCHAR', 'SHA-256 of the de-identified object'),
  col('size_bytes', 'BIGINT', 'Size of the de-identified object'),
  col('ingested_at', 'TIMESTAMP', 'When the batch was committed (UTC)'),
  col(
    'deid_actions',
    'VARCHAR',
    'Data elements per de-identification action as JSON counts, no values',
  ),
];

const PREDICTION = [
  col('model_name', 'VARCHAR', 'Name of the model, from its manifest'),
  col('model_version', 'VARCHAR', 'Version of the model, from its manifest'),
  col('model_sha256', 'VARCHAR', 'SHA-256 of model.onnx: the model identity'),
  col('run_id', 'VARCHAR', 'The prediction job that wrote the row'),
  col('SOPInstanceUID', 'VARCHAR', 'The instance the model read'),
  col('frame_index', 'INTEGER', 'Frame of the instance (0 for single frame)'),
  col('SeriesInstanceUID', 'VARCHAR', 'Series of the instance'),
  col('StudyInstanceUID', 'VARCHAR', 'Study of the instance'),
  col('label', 'VARCHAR', 'Output label (class, target or mask label)'),
  col('score', 'DOUBLE', 'Classification score of the label, else NULL'),
  col('value', 'DOUBLE', 'Regression value, or mask fraction above 0.5'),
  col('mask_key', 'VARCHAR', 'Segmentation mask object under the lake'),
  col('created_at', 'TIMESTAMP', 'When the prediction was made (UTC)'),
];

const ATTRIBUTE = [
  col('SOPInstanceUID', 'VARCHAR', 'The instance the data element is in'),
  col('PatientID', 'VARCHAR', 'Patient of the instance (to erase by patient)'),
  col('tag', 'VARCHAR', 'Tag as 8 upper-case hex digits, e.g. 00180050'),
  col('keyword', 'VARCHAR', 'PS3.6 keyword; NULL for private, unknown tags'),
  col('vr', 'VARCHAR', 'Value representation as stored (PS3.5 6.2)'),
  col(
    'path',
    'VARCHAR',
    'Where a nested element is, e.g. 00400275[0].00321060; empty at top',
  ),
  col(
    'value',
    'VARCHAR',
    'Values as text joined with \\, first 256 characters; NULL if empty',
  ),
  col('value_num', 'DOUBLE', 'The value when it is one number, else NULL'),
];

/**
 * The lake's tables. `instances` carries every level's columns so one scan
 * answers a cohort query; the level tables hold each batch's latest view of
 * a patient, study or series (deduplicated by key when read). `predictions`
 * holds model outputs, a row per instance, frame and label; a model rerun
 * on an instance replaces its rows (the latest batch wins when read).
 * `attributes` holds every data element of every instance (bulk data and
 * group lengths left out), nested ones with their path, for queries on a
 * tag no column indexes.
 */
export const SCHEMAS: Readonly<Record<TableName, TableSchema>> = {
  patients: { name: 'patients', key: ['PatientID'], columns: PATIENT },
  studies: {
    name: 'studies',
    key: ['StudyInstanceUID'],
    columns: [...STUDY, PATIENT[0]!],
  },
  series: {
    name: 'series',
    key: ['SeriesInstanceUID'],
    columns: [...SERIES, STUDY[0]!, PATIENT[0]!],
  },
  instances: {
    name: 'instances',
    key: ['SOPInstanceUID'],
    columns: [...INSTANCE, ...SERIES, ...STUDY, ...PATIENT],
  },
  predictions: {
    name: 'predictions',
    key: [
      'model_sha256',
      'SeriesInstanceUID',
      'SOPInstanceUID',
      'frame_index',
      'label',
    ],
    columns: PREDICTION,
  },
  attributes: {
    name: 'attributes',
    key: ['SOPInstanceUID', 'path', 'tag'],
    columns: ATTRIBUTE,
  },
};

export const TABLE_NAMES: readonly TableName[] = [
  'patients',
  'studies',
  'series',
  'instances',
  'predictions',
  'attributes',
];
