import sharp from 'sharp';
import { applyVoi } from './applyVoi';
import { decodeFrame } from './decodeFrame';
import { PixelError, PixelErrorCode } from './PixelError';
import type { DecodedFrame, RenderOptions } from './types';
import { voiWindow } from './voiWindow';
import { ybrToRgb } from './ybrToRgb';

/** 8-bit display samples of a colour frame (no VOI for colour, C.11.2). */
function colourSamples(frame: DecodedFrame): Uint8Array {
  const shift = Math.max(0, frame.bitsStored - 8);
  const out = Uint8Array.from(frame.stored, (v) =>
    Math.min(255, Math.max(0, v >> shift)),
  );
  switch (frame.photometricInterpretation) {
    case 'RGB':
      return out;
    case 'YBR_FULL':
      return ybrToRgb(out);
    default:
      throw new PixelError(
        PixelErrorCode.UnsupportedPixelFormat,
        `cannot render photometric interpretation ${frame.photometricInterpretation}`,
      );
  }
}

/** 8-bit display samples and their channel count. */
function displaySamples(
  frame: DecodedFrame,
  options: RenderOptions,
): { samples: Uint8Array; channels: 1 | 3 } {
  if (frame.samplesPerPixel === 3) {
    return { samples: colourSamples(frame), channels: 3 };
  }
  const photometric = frame.photometricInterpretation;
  if (
    frame.samplesPerPixel !== 1 ||
    (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')
  ) {
    throw new PixelError(
      PixelErrorCode.UnsupportedPixelFormat,
      `cannot render photometric interpretation ${photometric}`,
    );
  }
  const window = voiWindow(frame, options);
  return {
    samples: applyVoi(frame, window, photometric === 'MONOCHROME1'),
    channels: 1,
  };
}

/**
 * Renders one frame of a DICOM file as an 8-bit PNG or JPEG: greyscale
 * through the linear VOI function (PS3.3 C.11.2.1.2.1) with the requested
 * window, else the file's, else the frame's minimum to maximum, and
 * MONOCHROME1 inverted; RGB as it is and YBR_FULL converted to RGB.
 * @param dicom the whole file
 * @param frameIndex 0-based frame number
 * @throws PixelError (see decodeFrame), `BAD_WINDOW` or
 * `UNSUPPORTED_PIXEL_FORMAT` (e.g. PALETTE COLOR)
 */
export async function renderFrame(
  dicom: Uint8Array,
  frameIndex: number,
  options: RenderOptions,
): Promise<Buffer> {
  const frame = await decodeFrame(dicom, frameIndex);
  const { samples, channels } = displaySamples(frame, options);
  const raw = sharp(samples, {
    raw: { width: frame.columns, height: frame.rows, channels },
  });
  // Without this sharp writes grey frames as three identical channels.
  const grey = channels === 1 ? raw.toColourspace('b-w') : raw;
  const image = options.fit
    ? grey.resize({
        width: options.fit.columns,
        height: options.fit.rows,
        fit: 'inside',
        withoutEnlargement: true,
      })
    : grey;
  return options.format === 'jpeg'
    ? image.jpeg({ quality: options.quality ?? 90 }).toBuffer()
    : image.png().toBuffer();
}
