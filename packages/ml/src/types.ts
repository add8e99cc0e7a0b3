/** What a model predicts, which decides how its outputs become rows. */
export type ModelTask = 'classification' | 'regression' | 'segmentation';

/** One input tensor of a model. `N` (any string) is the batch dimension. */
export interface TensorSpec {
  name: string;
  /** Dimensions; a string is a symbolic size (the batch). */
  shape: Array<number | string>;
  dtype: 'float32';
}

/** One output tensor of a model and the labels along its class axis. */
export interface OutputSpec {
  name: string;
  /**
   * Classification: one label per score (last axis). Regression: one label
   * per value. Segmentation: one label per mask channel.
   */
  labels: string[];
}

/** Which frames of an instance the model reads, each as its own input. */
export type FrameSelection = 'each' | 'first' | 'middle';

/** A linear window mapped to [0, 1]: lower = center - width / 2. */
export interface WindowSpec {
  center: number;
  width: number;
}

/**
 * How a decoded frame becomes the model's input tensor, in this order:
 * rescale (modality values), window to [0, 1] (inverted for MONOCHROME1),
 * resize, normalise ((x - mean) / std per channel), channel layout.
 */
export interface Preprocessing {
  frames: FrameSelection;
  /** Use RescaleSlope/Intercept (modality values) rather than stored ones. */
  rescale: boolean;
  /** A fixed window, `dicom` for the object's own, or none (raw values). */
  window?: WindowSpec | 'dicom';
  resize: {
    rows: number;
    columns: number;
    /** Bilinear uses pixel centres, like PyTorch's align_corners=false. */
    method: 'bilinear' | 'nearest';
  };
  /** One value for all channels, or one per channel. */
  normalize: { mean: number[]; std: number[] };
  layout: 'NCHW' | 'NHWC';
  /**
   * Makes a series, not an instance, the model's unit: its instances'
   * first frames sorted by ImagePositionPatient along the slice normal,
   * `slices` of them picked evenly, each preprocessed as above and stacked
   * as the input's channels (mean and std: one value, or one per slice).
   * `frames` must then be `first`.
   */
  stack?: { by: 'ImagePositionPatient'; slices: number };
}

/** A model's manifest.json, validated. */
export interface ModelManifest {
  name: string;
  version: string;
  task: ModelTask;
  description?: string;
  /** Exactly one image input. */
  inputs: [TensorSpec];
  preprocessing: Preprocessing;
  outputs: OutputSpec[];
}

/** A model stored in a lake. */
export interface RegisteredModel {
  /** SHA-256 of model.onnx: the model's identity. */
  sha256: string;
  manifest: ModelManifest;
  /** The folder holding model.onnx and manifest.json. */
  dir: string;
  /** When it was added (ISO 8601, UTC). */
  addedAt: string;
}

/** A model ModelRegistry.add stored, or found stored already. */
export interface AddedModel extends RegisteredModel {
  /** True when the same model.onnx and manifest were stored before. */
  alreadyStored: boolean;
}

/** One decoded frame, as `@lpacs/pixels` returns it. */
export interface DecodedFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  numberOfFrames: number;
  bitsStored: number;
  pixelRepresentation: number;
  /** Stored values, samples interleaved per pixel. */
  stored: Int32Array;
  /** stored * slope + intercept. */
  modality: Float32Array;
  windowCenter?: number;
  windowWidth?: number;
}

/** Decodes one frame of a DICOM object (`@lpacs/pixels`' decodeFrame). */
export type FrameDecoder = (
  dicom: Uint8Array,
  frameIndex: number,
) => Promise<DecodedFrame>;

/** Where onnxruntime runs and how much of the machine it may take. */
export interface SessionOptions {
  /** onnxruntime execution providers, in order; default `['cpu']`. */
  executionProviders?: string[];
  /**
   * Threads per session for one operator; default half the cores (at
   * least one) so an API serving queries beside a job stays responsive.
   */
  intraOpNumThreads?: number;
  /** Sessions per model that may run batches at once; default 1. */
  poolSize?: number;
  /** Most inputs per run when the batch axis is symbolic; default 8. */
  maxBatch?: number;
  /**
   * How much lower than the process the session threads run (a Linux nice
   * increment, 0 to 19; default 10): a job then takes the CPU the API's
   * queries leave, and all of it when they leave it all. Where threads
   * cannot be reniced it is ignored.
   */
  niceness?: number;
}
