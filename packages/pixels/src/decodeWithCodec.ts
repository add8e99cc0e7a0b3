import { Context, NativeCodecs } from 'dcmjs-codecs';
import type { ImagePixel } from './ImagePixel';
import { PixelError, PixelErrorCode } from './PixelError';

/** Which WASM decoder handles which transfer syntax (PS3.6 Table A-1). */
const DECODERS: Record<string, 'jpeg' | 'jpegLs' | 'j2k' | 'htj2k'> = {
  '1.2.840.10008.1.2.4.50': 'jpeg',
  '1.2.840.10008.1.2.4.51': 'jpeg',
  '1.2.840.10008.1.2.4.57': 'jpeg',
  '1.2.840.10008.1.2.4.70': 'jpeg',
  '1.2.840.10008.1.2.4.80': 'jpegLs',
  '1.2.840.10008.1.2.4.81': 'jpegLs',
  '1.2.840.10008.1.2.4.90': 'j2k',
  '1.2.840.10008.1.2.4.91': 'j2k',
  '1.2.840.10008.1.2.4.201': 'htj2k',
  '1.2.840.10008.1.2.4.202': 'htj2k',
  '1.2.840.10008.1.2.4.203': 'htj2k',
};

let ready: Promise<void> | undefined;

/** Loads the codec module once, from the file shipped in the npm package. */
function initialize(): Promise<void> {
  ready ??= NativeCodecs.initializeAsync({
    webAssemblyModulePathOrUrl:
      require.resolve('dcmjs-codecs/build/dcmjs-native-codecs.wasm'),
    logCodecsInfo: false,
    logCodecsTrace: false,
  }).catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  return ready;
}

/** True when a transfer syntax is decoded by the WASM codecs. */
export function hasCodec(transferSyntaxUID: string): boolean {
  return transferSyntaxUID in DECODERS;
}

/** The colour model of what a codec returns for a file's model. */
export function decodedPhotometric(
  transferSyntaxUID: string,
  photometric: string,
): string {
  const decoder = DECODERS[transferSyntaxUID];
  if (decoder === 'jpeg' && photometric.startsWith('YBR_FULL')) return 'RGB';
  if (
    (decoder === 'j2k' || decoder === 'htj2k') &&
    /^YBR_(ICT|RCT)$/.test(photometric)
  )
    return 'RGB';
  return photometric;
}

/**
 * Decodes one JPEG, JPEG-LS or JPEG 2000 frame with the WASM codecs of
 * `dcmjs-codecs` to interleaved little-endian samples.
 */
export async function decodeWithCodec(
  transferSyntaxUID: string,
  frame: Uint8Array,
  image: ImagePixel,
): Promise<Uint8Array> {
  const decoder = DECODERS[transferSyntaxUID];
  if (!decoder) {
    throw new PixelError(
      PixelErrorCode.UnsupportedTransferSyntax,
      `transfer syntax ${transferSyntaxUID} is not supported`,
    );
  }
  await initialize();
  const context = new Context({
    width: image.columns,
    height: image.rows,
    bitsAllocated: image.bitsAllocated,
    bitsStored: image.bitsStored,
    samplesPerPixel: image.samplesPerPixel,
    pixelRepresentation: image.pixelRepresentation,
    planarConfiguration: 0,
    photometricInterpretation: image.photometricInterpretation,
    encodedBuffer: frame,
  });
  try {
    const out =
      decoder === 'jpeg'
        ? NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: true })
        : decoder === 'jpegLs'
          ? NativeCodecs.decodeJpegLs(context)
          : decoder === 'j2k'
            ? NativeCodecs.decodeJpeg2000(context)
            : NativeCodecs.decodeHtJpeg2000(context);
    const decoded = out.getDecodedBuffer();
    if (!decoded) throw new Error('no output');
    return decoded;
  } catch (err) {
    throw new PixelError(
      PixelErrorCode.Undecodable,
      `${decoder} decoder failed on a ${frame.length}-byte frame: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
}
