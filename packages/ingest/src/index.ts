export { ingest } from './ingest';
export { IngestSession } from './IngestSession';
export type { RunHooks, SessionOptions, Verdict } from './IngestSession';
export type { IngestOptions } from './ingest';
export type {
  IngestProgress,
  IngestReport,
  IngestTotals,
  QuarantineEntry,
} from './IngestReport';
export type { PeerDeidentified } from './acceptDeidentified';
export { indexRow } from './indexRow';
export { processFile } from './processFile';
export { retryQuarantined } from './retryQuarantined';
export type { RetriedEntry, RetryReport } from './retryQuarantined';
export type { FileContext, FileOutcome } from './processFile';
export { expandInputs } from './sources/expandInputs';
export type { InputFile } from './sources/InputFile';
export { headerParam, parseMultipart } from './sources/parseMultipart';
export type { Part } from './sources/parseMultipart';
export { pullDicomWeb } from './sources/pullDicomWeb';
export type { PullQuery, PullProgress } from './sources/pullDicomWeb';
export {
  eraseQuarantined,
  originalIdentities,
  pseudonymsOfQuarantined,
  quarantinedOriginalsOf,
} from './eraseQuarantined';
export type { QuarantineErased, QuarantineScope } from './eraseQuarantined';
export {
  conflictObjectKeys,
  conflictVersions,
  conflictVersionsOf,
} from './conflictVersions';
export type { ConflictVersion } from './conflictVersions';
export { erasedMessage } from './erasedMessage';
