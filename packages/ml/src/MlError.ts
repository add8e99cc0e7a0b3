/** What went wrong in the ML package; the API maps these to error codes. */
export enum MlErrorCode {
  /** manifest.json is missing, not JSON, or names wrong values. */
  ManifestInvalid = 'MANIFEST_INVALID',
  /** model.onnx is not a model onnxruntime can load (damaged, not ONNX). */
  ModelInvalid = 'MODEL_INVALID',
  /** The manifest disagrees with the ONNX graph's inputs or outputs. */
  ModelMismatch = 'MODEL_MISMATCH',
  /** No registered model has that name (or SHA-256). */
  ModelNotFound = 'MODEL_NOT_FOUND',
  /** The name and version are registered with another model.onnx. */
  ModelConflict = 'MODEL_CONFLICT',
  /** An input's pixels do not fit the model (channels, window...). */
  BadInput = 'BAD_INPUT',
  /** An input's object could not be read or its pixels decoded. */
  Undecodable = 'UNDECODABLE',
  /** onnxruntime refused to run a batch. */
  InferenceFailed = 'INFERENCE_FAILED',
  /**
   * The model's output for an input holds NaN or an infinity: a score or
   * mask made of it would mean nothing, so the input gets no row or mask.
   */
  NonFiniteOutput = 'NON_FINITE_OUTPUT',
  /**
   * Inputs erased from the lake after they were predicted, before their
   * rows were committed: none of their rows or masks is kept.
   */
  InputErased = 'INPUT_ERASED',
  /**
   * An input's object is no longer in the lake (erased, or removed by
   * hand, after the job selected it).
   */
  ObjectMissing = 'OBJECT_MISSING',
  /** An input's object is there but the file system would not read it. */
  ObjectUnreadable = 'OBJECT_UNREADABLE',
  /** No job has that id. */
  JobNotFound = 'JOB_NOT_FOUND',
  /** The job selection is empty or malformed. */
  BadSelection = 'BAD_SELECTION',
  /** An onnxruntime setting ($LPACS_ORT_*) that is not a valid value. */
  BadSetting = 'BAD_SETTING',
}

/** An ML failure with a code and a message naming the bad value. */
export class MlError extends Error {
  override readonly name = 'MlError';
  constructor(
    readonly code: MlErrorCode,
    message: string,
    /** Every problem found, for errors that collect several. */
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }
}
