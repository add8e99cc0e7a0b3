export { Catalog, QueryTimeoutError, ROLLUP_COLUMNS } from './Catalog';
export type { CatalogOptions, Plain } from './Catalog';
export { createFileAtomic, fsyncPath, writeFileAtomic } from './fsutil';
export { Lake, newBatchId, quarantineId, unreadableText } from './Lake';
export type { Erased, LakeHold } from './Lake';
export type {
  BatchRows,
  LakeMode,
  QuarantineListing,
  QuarantineReason,
  Reconcile,
} from './Lake';
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
export type { BackupOptions, BackupReport, SnapshotFile } from './backupLake';
export { DirTarget, S3Target, backupTarget, sha256Of } from './backupTarget';
export { PruneRefused, pruneBackup } from './pruneBackup';
export type { PruneOptions, PruneReport, PruneSelection } from './pruneBackup';
export { readBackupLedgers, snapshotTime } from './backupLedger';
export { BackupBusy } from './backupLocks';
export type { BackupLedger } from './backupLedger';
export type { BackupTarget } from './backupTarget';
export { S3Error, S3Store, s3LocationFromUrl } from './s3/S3Store';
export type { S3Location } from './s3/S3Store';
export { signV4 } from './s3/signV4';
export type { S3Credentials, UnsignedRequest } from './s3/signV4';
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
  writeLakeFile,
} from './encryption/objectFiles';
export {
  MASK_NAMES_IN_THE_CLEAR,
  maskKey,
  maskKeysToRead,
  maskNaming,
  masksMadeFrom,
  prepareMaskNaming,
} from './encryption/maskNames';
export type { MaskKind, MaskNaming } from './encryption/maskNames';
export { startS3Peer } from './s3/startS3Peer';
export type { S3Peer } from './s3/startS3Peer';
export {
  checkLakeRoot,
  isBackupListing,
  isBackupRoot,
  isLakeListing,
  lakeHolding,
} from './lakeListing';
export type { FolderEntry } from './lakeListing';
export { ERASURE_STEPS, readErasurePlan } from './erasure/ErasurePlan';
export type { ErasurePlan, ErasureStep } from './erasure/ErasurePlan';
export { addTombstones, readTombstones } from './erasure/tombstones';
export type { Tombstone } from './erasure/tombstones';
export type { Sweep } from './sweepObjects';
