export {
  buildRelease,
  readReleaseManifest,
  releaseDir,
  releaseInstanceUIDs,
} from './buildRelease';
export { countFrozen } from './countFrozen';
export { instancePath } from './releaseObjects';
export { SharingError, SharingErrorCode } from './SharingError';
export { DownloadLinks } from './downloadLinks';
export { SharingStore } from './SharingStore';
export { ZipStream } from './ZipStream';
export type {
  FrozenInstance,
  ReleaseDeidentification,
  ReleaseFile,
  ReleaseManifest,
  SavedCohort,
  ShareRequest,
  ShareStatus,
} from './types';
export { sendToPeer } from './sendToPeer';
export type { PeerOptions, SyncProgress, SyncReport } from './sendToPeer';
export { syncItems } from './syncItems';
export type { SyncItem, SyncSelection } from './syncItems';
