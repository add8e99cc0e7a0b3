export { DimseError, DimseErrorCode } from './DimseError';
export { eraseSpooled, spooledOriginalsOf } from './eraseSpooled';
export type { SpoolScope } from './eraseSpooled';
export { startStoreScp } from './startStoreScp';
export { StoreStatus } from './storeStatus';
export { ACCEPTED_TRANSFER_SYNTAXES } from './syntaxes';
export type { BatchingOptions } from './StoreBatcher';
export type {
  DimseAudit,
  DimseAuditEvent,
  StoreScp,
  StoreScpOptions,
} from './types';
export { Spool } from './Spool';
