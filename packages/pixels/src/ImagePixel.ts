import { Tag, findElement, readNumber, topString } from '@lpacs/dicom';
import type { DataSet, DicomElement } from '@lpacs/dicom';
import { PixelError, PixelErrorCode } from './PixelError';

/** Image Pixel and related attributes a decoder needs (PS3.3 C.7.6.3). */
export interface ImagePixel {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  numberOfFrames: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  pixelData: DicomElement;
}

const HighBit = 0x00280102;
const PixelRepresentation = 0x00280103;
const PlanarConfiguration = 0x00280006;
const WindowCenter = 0x00281050;
const WindowWidth = 0x00281051;
const RescaleIntercept = 0x00281052;
const RescaleSlope = 0x00281053;

function required(set: DataSet, tag: number, keyword: string): number {
  const value = readNumber(
    set.buffer,
    set.encoding,
    findElement(set.elements, tag),
  );
  if (value === undefined) {
    throw new PixelError(
      PixelErrorCode.MissingAttribute,
      `${keyword} is missing or empty`,
    );
  }
  return value;
}

/** Reads the attributes that describe the pixel data of a data set. */
export function readImagePixel(set: DataSet): ImagePixel {
  const pixelData = findElement(set.elements, Tag.PixelData);
  if (!pixelData) {
    throw new PixelError(
      PixelErrorCode.MissingPixelData,
      'the data set has no Pixel Data (7FE0,0010)',
    );
  }
  const num = (tag: number) =>
    readNumber(set.buffer, set.encoding, findElement(set.elements, tag));
  const bitsAllocated = required(set, Tag.BitsAllocated, 'BitsAllocated');
  const bitsStored = num(Tag.BitsStored) ?? bitsAllocated;
  return {
    rows: required(set, Tag.Rows, 'Rows'),
    columns: required(set, Tag.Columns, 'Columns'),
    samplesPerPixel: num(Tag.SamplesPerPixel) ?? 1,
    photometricInterpretation:
      topString(set, Tag.PhotometricInterpretation) ?? 'MONOCHROME2',
    planarConfiguration: num(PlanarConfiguration) ?? 0,
    numberOfFrames: Math.max(1, num(Tag.NumberOfFrames) ?? 1),
    bitsAllocated,
    bitsStored,
    highBit: num(HighBit) ?? bitsStored - 1,
    pixelRepresentation: num(PixelRepresentation) ?? 0,
    rescaleSlope: num(RescaleSlope) ?? 1,
    rescaleIntercept: num(RescaleIntercept) ?? 0,
    windowCenter: num(WindowCenter),
    windowWidth: num(WindowWidth),
    pixelData,
  };
}
