/** One decoded frame with the Image Pixel attributes needed to use it. */
export interface DecodedFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /**
   * The colour model of the values in `stored`: the file's, except after a
   * codec that converts to RGB (JPEG baseline YBR_FULL_422, JPEG 2000 ICT/RCT).
   */
  photometricInterpretation: string;
  numberOfFrames: number;
  bitsStored: number;
  pixelRepresentation: number;
  /** stored values, planar config normalised to interleaved */
  stored: Int32Array;
  /** modality values: stored * RescaleSlope + RescaleIntercept */
  modality: Float32Array;
  /** Rescale Slope used for `modality` (1 when absent), PS3.3 C.11.1. */
  rescaleSlope: number;
  /** Rescale Intercept used for `modality` (0 when absent). */
  rescaleIntercept: number;
  /** The first Window Center of the file, if any (PS3.3 C.11.2). */
  windowCenter?: number;
  /** The first Window Width of the file, if any (PS3.3 C.11.2). */
  windowWidth?: number;
}

/** How to render a frame to an 8-bit image. */
export interface RenderOptions {
  /** VOI window center in modality units; with `windowWidth`. */
  windowCenter?: number;
  /** VOI window width in modality units (at least 1). */
  windowWidth?: number;
  format: 'png' | 'jpeg';
  /** JPEG quality 1-100 (default 90). */
  quality?: number;
  /**
   * Shrink to fit within this many columns and rows, keeping the aspect
   * ratio (never enlarged): for thumbnails.
   */
  fit?: { columns: number; rows: number };
}
