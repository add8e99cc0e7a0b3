export { Catalog, QueryTimeoutError, ROLLUP_COLUMNS } from './Catalog';
export type { CatalogOptions, Plain } from './Catalog';
export { fsyncPath, writeFileAtomic } from './fsutil';
export { Lake, newBatchId } from './Lake';
export type { Erased } from './Lake';
export type { BatchRows, QuarantineReason } from './Lake';
export { LakeError, LakeErrorCode } from './LakeError';
export { LakeLayout } from './LakeLayout';
export { processAlive } from './processAlive';
export { sqlString } from './sqlString';
export { ParquetWriter } from './ParquetWriter';
export {
  FIELD_SEPARATOR,
  PACKED_ATTRIBUTE_FIELDS,
  ROW_SEPARATOR,
  packAttributeRows,
  packedField,
  unpackAttributes,
} from './packedAttributes';
export type { PackedAttributes } from './packedAttributes';
export { SCHEMAS, TABLE_NAMES } from './schemas';
export { silentLogger } from './types';
export type {
  Column,
  ColumnType,
  Logger,
  Row,
  TableName,
  TableSchema,
} from './types';
export type { Compaction } from './compactTable';
export { backupLake, listSnapshots, restoreLake } from './backupLake';
export type { BackupReport, SnapshotFile } from './backupLake';
export { LakeCipher } from './encryption/LakeCipher';
export { KEK_HELP, parseKek, readKek } from './encryption/readKek';
export type { Kek } from './encryption/readKek';
export {
  encryptionSettings,
  openLakeCipher,
} from './encryption/openLakeCipher';
export type { EncryptionSettings } from './encryption/openLakeCipher';
export {
  objectSize,
  objectStream,
  readObject,
  readObjectSync,
  sealObject,
} from './encryption/objectFiles';
