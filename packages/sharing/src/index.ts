export {
  buildRelease,
  instancePath,
  readReleaseManifest,
  releaseDir,
  releaseInstanceUIDs,
} from './buildRelease';
export { DownloadLinks } from './downloadLinks';
export { SharingStore } from './SharingStore';
export { ZipStream } from './ZipStream';
export type {
  FrozenInstance,
  ReleaseFile,
  ReleaseManifest,
  SavedCohort,
  ShareRequest,
  ShareStatus,
} from './types';
