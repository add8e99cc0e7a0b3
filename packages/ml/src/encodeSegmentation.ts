import { createHash } from 'node:crypto';
import {
  DicomWriter,
  EXPLICIT_LE,
  encodeFileMeta,
  findElement,
  parseDicom,
  readDecimals,
  readNumber,
  readString,
} from '@lpacs/dicom';
import type { DataSet } from '@lpacs/dicom';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
} from '@lpacs/deid';
import { MlError, MlErrorCode } from './MlError';
import { packMaskBits } from './packMaskBits';

/** Segmentation Storage (PS3.4 B.5). */
const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

/** What a SEG object is made from. */
export interface SegmentationSource {
  /** The (de-identified) source image, single frame. */
  source: Uint8Array;
  /** The model's mask: [labels, maskRows, maskColumns], 1 = in segment. */
  mask: Uint8Array;
  maskRows: number;
  maskColumns: number;
  labels: readonly string[];
  model: { name: string; version: string; sha256: string };
  /** When the prediction was made (for ContentDate/Time). */
  createdAt: Date;
}

const t = (group: number, element: number) => (group << 16) | element;

function uidFrom(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `2.25.${BigInt(`0x${hex.slice(0, 32)}`).toString()}`;
}

function us(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}

function ul(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function at(tag: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(tag >>> 16);
  b.writeUInt16LE(tag & 0xffff, 2);
  return b;
}

/** A code sequence item (PS3.3 8.8): value, scheme, meaning. */
function code(
  w: DicomWriter,
  tag: number,
  [value, scheme, meaning]: readonly [string, string, string],
): void {
  w.beginSequence(tag);
  w.beginItem();
  w.string(t(0x0008, 0x0100), 'SH', value);
  w.string(t(0x0008, 0x0102), 'SH', scheme);
  w.string(t(0x0008, 0x0104), 'LO', meaning);
  w.endItem();
  w.endSequence();
}

/** Copies an element of the source, or writes it empty (type 2). */
function copyOrEmpty(
  w: DicomWriter,
  src: DataSet,
  tag: number,
  vr: string,
): void {
  const el = findElement(src.elements, tag);
  if (el) w.copy(src.buffer, src.encoding, el);
  else w.element(tag, vr, Buffer.alloc(0));
}

/**
 * Encodes a model's mask as a DICOM Segmentation object (PS3.3 A.51,
 * BINARY, one frame per label) over its single-frame source image: the mask
 * resampled (nearest) to the source's rows and columns, the source's
 * patient, study and frame of reference, and its geometry in the functional
 * groups. UIDs derive from the model and source, so a rerun writes the same
 * object.
 * @throws MlError BAD_INPUT when the source lacks the geometry a SEG needs
 * (ImagePositionPatient, ImageOrientationPatient, PixelSpacing,
 * FrameOfReferenceUID) or is multi-frame.
 */
export function encodeSegmentation(s: SegmentationSource): Buffer {
  const file = parseDicom(
    Buffer.from(s.source.buffer, s.source.byteOffset, s.source.byteLength),
  );
  const src = file.body;
  const find = (g: number, e: number) => findElement(src.elements, t(g, e));
  const str = (g: number, e: number) => readString(src.buffer, find(g, e));
  const ipp = readDecimals(src.buffer, find(0x0020, 0x0032));
  const iop = readDecimals(src.buffer, find(0x0020, 0x0037));
  const spacing = readDecimals(src.buffer, find(0x0028, 0x0030));
  const rows = readNumber(src.buffer, src.encoding, find(0x0028, 0x0010));
  const cols = readNumber(src.buffer, src.encoding, find(0x0028, 0x0011));
  const frames = Number(str(0x0028, 0x0008) ?? '1');
  const sourceClass = str(0x0008, 0x0016);
  const sourceSop = str(0x0008, 0x0018);
  const sourceSeries = str(0x0020, 0x000e);
  const forUid = str(0x0020, 0x0052);
  if (
    ipp.length !== 3 ||
    iop.length !== 6 ||
    spacing.length !== 2 ||
    !rows ||
    !cols ||
    frames !== 1 ||
    !sourceClass ||
    !sourceSop ||
    !sourceSeries ||
    !forUid
  )
    throw new MlError(
      MlErrorCode.BadInput,
      'a DICOM SEG needs a single-frame source with ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows, Columns and FrameOfReferenceUID',
    );
  const sop = uidFrom('seg', s.model.sha256, sourceSop);
  const series = uidFrom('seg-series', s.model.sha256, sourceSeries);
  const orgUid = uidFrom('seg-dimensions', s.model.sha256);
  const iso = s.createdAt.toISOString();
  const date = iso.slice(0, 10).replace(/-/g, '');
  const time = iso.slice(11, 19).replace(/:/g, '');
  const n = s.labels.length;
  const w = new DicomWriter(EXPLICIT_LE);
  const charset = find(0x0008, 0x0005);
  if (charset) w.copy(src.buffer, src.encoding, charset);
  w.string(t(0x0008, 0x0008), 'CS', 'DERIVED\\PRIMARY');
  w.string(t(0x0008, 0x0016), 'UI', SEGMENTATION_STORAGE);
  w.string(t(0x0008, 0x0018), 'UI', sop);
  copyOrEmpty(w, src, t(0x0008, 0x0020), 'DA');
  w.string(t(0x0008, 0x0023), 'DA', date);
  // Old objects write times as HH:MM:SS (ACR-NEMA); TM has no colons.
  w.string(
    t(0x0008, 0x0030),
    'TM',
    (str(0x0008, 0x0030) ?? '').replace(/:/g, ''),
  );
  w.string(t(0x0008, 0x0033), 'TM', time);
  copyOrEmpty(w, src, t(0x0008, 0x0050), 'SH');
  w.string(t(0x0008, 0x0060), 'CS', 'SEG');
  w.string(t(0x0008, 0x0070), 'LO', 'lpacs');
  copyOrEmpty(w, src, t(0x0008, 0x0090), 'PN');
  w.string(t(0x0008, 0x103e), 'LO', `${s.model.name} ${s.model.version}`);
  w.string(t(0x0008, 0x1090), 'LO', s.model.name);
  w.beginSequence(t(0x0008, 0x1115));
  w.beginItem();
  w.beginSequence(t(0x0008, 0x114a));
  w.beginItem();
  w.string(t(0x0008, 0x1150), 'UI', sourceClass);
  w.string(t(0x0008, 0x1155), 'UI', sourceSop);
  w.endItem();
  w.endSequence();
  w.string(t(0x0020, 0x000e), 'UI', sourceSeries);
  w.endItem();
  w.endSequence();
  copyOrEmpty(w, src, t(0x0010, 0x0010), 'PN');
  copyOrEmpty(w, src, t(0x0010, 0x0020), 'LO');
  copyOrEmpty(w, src, t(0x0010, 0x0030), 'DA');
  copyOrEmpty(w, src, t(0x0010, 0x0040), 'CS');
  w.string(t(0x0018, 0x1000), 'LO', s.model.sha256.slice(0, 16));
  w.string(t(0x0018, 0x1020), 'LO', s.model.version);
  copyOrEmpty(w, src, t(0x0020, 0x000d), 'UI');
  w.string(t(0x0020, 0x000e), 'UI', series);
  copyOrEmpty(w, src, t(0x0020, 0x0010), 'SH');
  w.string(t(0x0020, 0x0011), 'IS', '9001');
  w.string(t(0x0020, 0x0013), 'IS', '1');
  w.string(t(0x0020, 0x0052), 'UI', forUid);
  w.element(t(0x0020, 0x1040), 'LO', Buffer.alloc(0));
  w.beginSequence(t(0x0020, 0x9221));
  w.beginItem();
  w.string(t(0x0020, 0x9164), 'UI', orgUid);
  w.endItem();
  w.endSequence();
  w.beginSequence(t(0x0020, 0x9222));
  w.beginItem();
  w.string(t(0x0020, 0x9164), 'UI', orgUid);
  w.element(t(0x0020, 0x9165), 'AT', at(t(0x0062, 0x000b)));
  w.element(t(0x0020, 0x9167), 'AT', at(t(0x0062, 0x000a)));
  w.endItem();
  w.endSequence();
  w.element(t(0x0028, 0x0002), 'US', us(1));
  w.string(t(0x0028, 0x0004), 'CS', 'MONOCHROME2');
  w.string(t(0x0028, 0x0008), 'IS', String(n));
  w.element(t(0x0028, 0x0010), 'US', us(rows));
  w.element(t(0x0028, 0x0011), 'US', us(cols));
  w.element(t(0x0028, 0x0100), 'US', us(1));
  w.element(t(0x0028, 0x0101), 'US', us(1));
  w.element(t(0x0028, 0x0102), 'US', us(0));
  w.element(t(0x0028, 0x0103), 'US', us(0));
  w.string(t(0x0028, 0x2110), 'CS', '00');
  w.string(t(0x0062, 0x0001), 'CS', 'BINARY');
  w.beginSequence(t(0x0062, 0x0002));
  s.labels.forEach((label, i) => {
    w.beginItem();
    // Generic codes: the model's manifest does not say what it segments.
    code(w, t(0x0062, 0x0003), ['91723000', 'SCT', 'Anatomical structure']);
    w.element(t(0x0062, 0x0004), 'US', us(i + 1));
    w.string(t(0x0062, 0x0005), 'LO', label);
    w.string(t(0x0062, 0x0008), 'CS', 'AUTOMATIC');
    w.string(t(0x0062, 0x0009), 'LO', s.model.name);
    code(w, t(0x0062, 0x000f), ['91723000', 'SCT', 'Anatomical structure']);
    w.endItem();
  });
  w.endSequence();
  w.string(t(0x0070, 0x0080), 'CS', 'MODEL');
  w.string(t(0x0070, 0x0081), 'LO', `${s.model.name} ${s.model.version}`);
  w.element(t(0x0070, 0x0084), 'PN', Buffer.alloc(0));
  w.beginSequence(t(0x5200, 0x9229));
  w.beginItem();
  w.beginSequence(t(0x0020, 0x9116));
  w.beginItem();
  w.string(t(0x0020, 0x0037), 'DS', iop.map(String).join('\\'));
  w.endItem();
  w.endSequence();
  w.beginSequence(t(0x0028, 0x9110));
  w.beginItem();
  copyOrEmpty(w, src, t(0x0018, 0x0050), 'DS');
  w.string(t(0x0028, 0x0030), 'DS', spacing.map(String).join('\\'));
  w.endItem();
  w.endSequence();
  w.endItem();
  w.endSequence();
  w.beginSequence(t(0x5200, 0x9230));
  for (let i = 0; i < n; i++) {
    w.beginItem();
    w.beginSequence(t(0x0008, 0x9124));
    w.beginItem();
    w.beginSequence(t(0x0008, 0x2112));
    w.beginItem();
    w.string(t(0x0008, 0x1150), 'UI', sourceClass);
    w.string(t(0x0008, 0x1155), 'UI', sourceSop);
    code(w, t(0x0040, 0xa170), [
      '121322',
      'DCM',
      'Source image for image processing operation',
    ]);
    w.endItem();
    w.endSequence();
    code(w, t(0x0008, 0x9215), ['113076', 'DCM', 'Segmentation']);
    w.endItem();
    w.endSequence();
    w.beginSequence(t(0x0020, 0x9111));
    w.beginItem();
    w.element(t(0x0020, 0x9157), 'UL', ul(i + 1));
    w.endItem();
    w.endSequence();
    w.beginSequence(t(0x0020, 0x9113));
    w.beginItem();
    w.string(t(0x0020, 0x0032), 'DS', ipp.map(String).join('\\'));
    w.endItem();
    w.endSequence();
    w.beginSequence(t(0x0062, 0x000a));
    w.beginItem();
    w.element(t(0x0062, 0x000b), 'US', us(i + 1));
    w.endItem();
    w.endSequence();
    w.endItem();
  }
  w.endSequence();
  w.element(
    t(0x7fe0, 0x0010),
    'OB',
    packMaskBits(s.mask, n, s.maskRows, s.maskColumns, rows, cols),
  );
  const meta = encodeFileMeta({
    mediaStorageSOPClassUID: SEGMENTATION_STORAGE,
    mediaStorageSOPInstanceUID: sop,
    transferSyntaxUID: '1.2.840.10008.1.2.1',
    implementationClassUID: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
  return Buffer.concat([meta, w.toBuffer()]);
}
