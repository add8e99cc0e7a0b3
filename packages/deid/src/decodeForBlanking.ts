import {
  DicomWriter,
  EXPLICIT_LE,
  Tag,
  TransferSyntax,
  encodeFileMeta,
  findElement,
  parseDicom,
  readNumber,
  topString,
} from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import { pixelLayout } from './blanking';
import { DeidError, DeidErrorCode } from './DeidError';

const PlanarConfiguration = 0x00280006;
const HighBit = 0x00280102;
const LossyImageCompression = 0x00282110;
const ExtendedOffsetTable = 0x7fe00001;
const ExtendedOffsetTableLengths = 0x7fe00002;

/** Syntaxes whose decoded pixels differ from what was acquired (PS3.5 A.4). */
const LOSSY = new Set([
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.203',
]);

function us(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}

/**
 * Re-encodes an encapsulated object as Explicit VR Little Endian with its
 * frames decoded by @lpacs/pixels, so its pixels can be blanked: stored
 * values right-aligned (High Bit = Bits Stored - 1), samples interleaved,
 * Photometric Interpretation as decoded (JPEG baseline YBR becomes RGB).
 * Lossy sources are marked LossyImageCompression 01 (PS3.3 C.7.6.1.1.5).
 * @throws DeidError when a frame does not decode.
 */
export async function decodeForBlanking(file: DicomFile): Promise<DicomFile> {
  const set = file.body;
  const layout = pixelLayout(set);
  const bytes = layout.bitsAllocated === 8 ? 1 : 2;
  const bitsStored =
    readNumber(
      set.buffer,
      set.encoding,
      findElement(set.elements, Tag.BitsStored),
    ) ?? layout.bitsAllocated;
  if (layout.bitsAllocated !== 8 && layout.bitsAllocated !== 16)
    throw new DeidError(
      DeidErrorCode.BurnedInAnnotation,
      `a blanking rule matches but BitsAllocated (0028,0100) is ${layout.bitsAllocated}: refused`,
    );
  // Loaded only here: the codecs are needed by few objects.
  const { decodeFrame } = await import('@lpacs/pixels');
  const perFrame = layout.rows * layout.columns * layout.samplesPerPixel;
  const size = perFrame * layout.frames * bytes;
  const pixels = Buffer.alloc(size + (size & 1)); // even length, PS3.5 7.1.1
  let photometric = layout.photometric;
  for (let f = 0; f < layout.frames; f++) {
    let decoded;
    try {
      decoded = await decodeFrame(set.buffer, f);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'UNDECODABLE';
      throw new DeidError(
        DeidErrorCode.BurnedInAnnotation,
        `a blanking rule matches but frame ${f} of ${file.transferSyntaxUID} does not decode (${code}): refused`,
      );
    }
    photometric = decoded.photometricInterpretation;
    const at = f * perFrame * bytes;
    const mask = bytes === 1 ? 0xff : 0xffff;
    for (let i = 0; i < perFrame; i++) {
      const v = (decoded.stored[i] ?? 0) & mask;
      if (bytes === 1) pixels[at + i] = v;
      else pixels.writeUInt16LE(v, at + i * 2);
    }
  }
  const w = new DicomWriter(EXPLICIT_LE);
  let markLossy =
    LOSSY.has(file.transferSyntaxUID) &&
    !findElement(set.elements, LossyImageCompression);
  for (const el of set.elements) {
    if (markLossy && el.tag > LossyImageCompression) {
      w.string(LossyImageCompression, 'CS', '01');
      markLossy = false;
    }
    switch (el.tag) {
      case Tag.PhotometricInterpretation:
        w.string(el.tag, 'CS', photometric);
        break;
      case PlanarConfiguration:
        w.element(el.tag, 'US', us(0));
        break;
      case HighBit:
        w.element(el.tag, 'US', us(bitsStored - 1));
        break;
      case ExtendedOffsetTable:
      case ExtendedOffsetTableLengths:
        break;
      case Tag.PixelData:
        w.element(el.tag, bytes === 1 ? 'OB' : 'OW', pixels);
        break;
      default:
        w.copy(set.buffer, set.encoding, el);
    }
  }
  const metaValue = (tag: number) => topString(file.meta, tag) ?? '';
  // Only the transfer syntax matters: de-identification writes new meta.
  const meta = encodeFileMeta({
    mediaStorageSOPClassUID: metaValue(Tag.MediaStorageSOPClassUID),
    mediaStorageSOPInstanceUID: metaValue(Tag.MediaStorageSOPInstanceUID),
    transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
    implementationClassUID: metaValue(Tag.ImplementationClassUID),
    implementationVersionName: metaValue(Tag.ImplementationVersionName),
  });
  return parseDicom(Buffer.concat([meta, ...w.chunks()]));
}
