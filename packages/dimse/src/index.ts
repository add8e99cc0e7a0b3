export { DimseError, DimseErrorCode } from './DimseError';
export { startStoreScp } from './startStoreScp';
export { StoreStatus } from './storeStatus';
export {
  ACCEPTED_TRANSFER_SYNTAXES,
  VERIFICATION_SOP_CLASS,
  isStorageSopClass,
} from './syntaxes';
export type { StoreScp, StoreScpOptions } from './types';
