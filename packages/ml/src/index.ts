/**
 * Model registry and ONNX inference over cohorts.
 *
 * TODO: nothing here yet. The AI-hooks issue adds the manifest format, an
 * onnxruntime-node session pool and the prediction job runner; until then
 * no model can be run and cohort filters cannot use predictions.
 */
export const ML_PACKAGE_VERSION = '0.1.0';
