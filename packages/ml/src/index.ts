/**
 * Model registry and ONNX inference over cohorts: models stored in the
 * lake by the SHA-256 of model.onnx, onnxruntime session pools, and
 * persisted prediction jobs whose rows land in the `predictions` table.
 */
export { checkModelSignature } from './checkModelSignature';
export type { TensorSignature } from './checkModelSignature';
export { encodeNpy } from './encodeNpy';
export { encodeSegmentation } from './encodeSegmentation';
export type { SegmentationSource } from './encodeSegmentation';
export { forgetErasedInJob } from './forgetErased';
export type { ErasedIdentifiers, ForgottenInJob } from './forgetErased';
export { framesOf } from './framesOf';
export { jobAuditDetail } from './jobAuditDetail';
export { JobStore } from './JobStore';
export { isErasedInput } from './jobTypes';
export type {
  ErasedInput,
  InputFailure,
  JobInput,
  JobPhase,
  JobProgress,
  JobSelection,
  JobState,
  StoredInput,
} from './jobTypes';
export { keepPresent } from './keepPresent';
export type { MaskFile } from './keepPresent';
export { LakePredictionSink } from './LakePredictionSink';
export type { PredictionSink } from './LakePredictionSink';
export { lowerPriority } from './lowerPriority';
export { MlError, MlErrorCode } from './MlError';
export { ModelRegistry } from './ModelRegistry';
export { OnnxModel } from './OnnxModel';
export type { ModelOutput } from './OnnxModel';
export { predictChunk } from './predictChunk';
export type { ChunkResult } from './predictChunk';
export { packMaskBits } from './packMaskBits';
export { predictionClause } from './predictionClause';
export type { PredictionCriterion } from './predictionClause';
export { predictionRows } from './predictionRows';
export type { ImagePrediction, PredictionTarget } from './predictionRows';
export { predictVolumes } from './predictVolumes';
export { PredictionJobs } from './PredictionJobs';
export type { PredictionJobsOptions } from './PredictionJobs';
export { preprocessFrame } from './preprocessFrame';
export { resizePlane } from './resizePlane';
export { IMAGES_ONLY, selectInputs } from './selectInputs';
export { defaultIntraOpThreads, SessionPool } from './SessionPool';
export { sessionOptionsFromEnv } from './sessionOptionsFromEnv';
export { slicePosition } from './slicePosition';
export { sampleSlices, stackSlices } from './stackSlices';
export type * from './types';
export { validateManifest } from './validateManifest';
