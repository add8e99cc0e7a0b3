import { isEncapsulated, parseDicom } from '@lpacs/dicom';
import { decodeRle } from './decodeRle';
import {
  decodedPhotometric,
  decodeWithCodec,
  hasCodec,
} from './decodeWithCodec';
import { frameBytes } from './frameBytes';
import { readImagePixel } from './ImagePixel';
import { PixelError, PixelErrorCode } from './PixelError';
import { storedValues } from './storedValues';
import type { DecodedFrame } from './types';

const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes one frame of a DICOM file (PS3.10) to stored and modality
 * values. Native pixel data in any of the uncompressed syntaxes, RLE
 * Lossless, and JPEG, JPEG-LS, JPEG 2000 through the WASM codecs.
 * @param dicom the whole file
 * @param frameIndex 0-based frame number
 * @throws PixelError with a code: `FRAME_OUT_OF_RANGE`,
 * `MISSING_PIXEL_DATA`, `UNSUPPORTED_TRANSFER_SYNTAX`, `UNDECODABLE_FRAME`...
 */
export async function decodeFrame(
  dicom: Uint8Array,
  frameIndex: number,
): Promise<DecodedFrame> {
  const file = parseDicom(toBuffer(dicom));
  const set = file.body;
  const image = readImagePixel(set);
  const syntax = file.transferSyntaxUID;
  if (
    !Number.isInteger(frameIndex) ||
    frameIndex < 0 ||
    frameIndex >= image.numberOfFrames
  ) {
    throw new PixelError(
      PixelErrorCode.FrameOutOfRange,
      `frame ${frameIndex} is out of range: the image has ${image.numberOfFrames}`,
    );
  }
  const encapsulated = isEncapsulated(syntax);
  if (encapsulated && syntax !== RLE_LOSSLESS && !hasCodec(syntax)) {
    throw new PixelError(
      PixelErrorCode.UnsupportedTransferSyntax,
      `transfer syntax ${syntax} is not supported`,
    );
  }
  if (encapsulated !== Boolean(image.pixelData.fragments)) {
    throw new PixelError(
      PixelErrorCode.Undecodable,
      `Pixel Data is ${encapsulated ? 'not ' : ''}encapsulated under ${syntax}`,
    );
  }
  if (
    !encapsulated &&
    /^YBR_(FULL_422|PARTIAL)/.test(image.photometricInterpretation)
  ) {
    // TODO: native subsampled YBR (two Y, one Cb, one Cr per pixel pair,
    // PS3.3 C.7.6.3.1.2) is not unpacked; such frames cannot be viewed.
    throw new PixelError(
      PixelErrorCode.UnsupportedPixelFormat,
      `uncompressed ${image.photometricInterpretation} is not supported`,
    );
  }
  const bytes = frameBytes(set, image, frameIndex);
  let stored: Int32Array;
  let photometric = image.photometricInterpretation;
  if (!encapsulated) {
    // PS3.5 A.1 c: 8-bit OW data in big endian is swapped in 16-bit words.
    const swapWords =
      !set.encoding.littleEndian &&
      image.bitsAllocated === 8 &&
      image.pixelData.vr === 'OW';
    const native = swapWords ? Buffer.from(bytes).swap16() : bytes;
    stored = storedValues(
      native,
      image,
      set.encoding.littleEndian,
      image.samplesPerPixel > 1 && image.planarConfiguration === 1,
    );
  } else if (syntax === RLE_LOSSLESS) {
    const decoded = decodeRle(bytes, {
      pixels: image.rows * image.columns,
      samplesPerPixel: image.samplesPerPixel,
      bytesPerSample: image.bitsAllocated / 8,
    });
    stored = storedValues(decoded, image, true, false);
  } else {
    const decoded = await decodeWithCodec(syntax, bytes, image);
    photometric = decodedPhotometric(syntax, photometric);
    // Codecs return samples right-aligned, without the High Bit shift.
    stored = storedValues(
      decoded,
      { ...image, highBit: image.bitsStored - 1 },
      true,
      false,
    );
  }
  const modality = new Float32Array(stored.length);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image;
  for (let i = 0; i < stored.length; i++)
    modality[i] = (stored[i] ?? 0) * slope + intercept;
  return {
    rows: image.rows,
    columns: image.columns,
    samplesPerPixel: image.samplesPerPixel,
    photometricInterpretation: photometric,
    numberOfFrames: image.numberOfFrames,
    bitsStored: image.bitsStored,
    pixelRepresentation: image.pixelRepresentation,
    stored,
    modality,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    ...(image.windowCenter !== undefined
      ? { windowCenter: image.windowCenter }
      : {}),
    ...(image.windowWidth !== undefined
      ? { windowWidth: image.windowWidth }
      : {}),
  };
}
