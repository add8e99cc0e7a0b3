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
import type { DataSet, DicomElement, DicomItem, Encoding } from '@lpacs/dicom';
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

/** One source image plane a mask was predicted for. */
export interface SegmentationPlane {
  /** Index into `sources`. */
  source: number;
  /** 0-based frame of a multi-frame source; none for a single-frame one. */
  frame?: number;
  /** [labels, maskRows, maskColumns], 1 = in segment. */
  mask: Uint8Array;
}

/** What a SEG over several planes (frames or slices) is made from. */
export interface SegmentationPlanes {
  /** The (de-identified) source images the planes lie in. */
  sources: readonly Uint8Array[];
  /** In the order the SEG's frames take, for each segment. */
  planes: readonly SegmentationPlane[];
  maskRows: number;
  maskColumns: number;
  labels: readonly string[];
  model: { name: string; version: string; sha256: string };
  /** When the prediction was made (for ContentDate/Time). */
  createdAt: Date;
  /**
   * What the SEG's SOP Instance UID derives from with the model (default
   * the first source's SOP Instance UID); a series-level SEG passes its
   * series'.
   */
  uidSeed?: string;
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

const PER_FRAME = t(0x5200, 0x9230);
const SHARED = t(0x5200, 0x9229);
const PLANE_POSITION = t(0x0020, 0x9113);
const PLANE_ORIENTATION = t(0x0020, 0x9116);
const PIXEL_MEASURES = t(0x0028, 0x9110);
const IPP = t(0x0020, 0x0032);
const IOP = t(0x0020, 0x0037);
const PIXEL_SPACING = t(0x0028, 0x0030);
const SLICE_THICKNESS = t(0x0018, 0x0050);

/** An element and the bytes and encoding it is read from. */
interface Found {
  buffer: Buffer;
  encoding: Encoding;
  el: DicomElement;
}

/** Where one source plane lies (PS3.3 C.7.6.2, C.7.6.16.2). */
interface PlaneGeometry {
  position: number[];
  orientation: number[];
  spacing: number[];
  thickness?: Found;
}

/** One parsed source image. */
interface Source {
  set: DataSet;
  str(g: number, e: number): string | undefined;
  rows: number;
  columns: number;
  frames: number;
}

function parseSource(bytes: Uint8Array): Source {
  const set = parseDicom(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  ).body;
  const find = (g: number, e: number) => findElement(set.elements, t(g, e));
  return {
    set,
    str: (g, e) => readString(set.buffer, find(g, e)),
    rows: readNumber(set.buffer, set.encoding, find(0x0028, 0x0010)) ?? 0,
    columns: readNumber(set.buffer, set.encoding, find(0x0028, 0x0011)) ?? 0,
    frames: Number(readString(set.buffer, find(0x0028, 0x0008)) ?? '1'),
  };
}

/** `tag` inside the first item of sequence `seq` of a functional group item. */
function inGroup(
  buffer: Buffer,
  group: DicomItem | undefined,
  seq: number,
  tag: number,
): Found | undefined {
  const item = group && findElement(group.elements, seq)?.items?.[0];
  const el = item && findElement(item.elements, tag);
  return el && { buffer, encoding: item.encoding, el };
}

/**
 * The geometry of a source plane: a single-frame image's own attributes,
 * or a multi-frame image's per-frame functional groups (then its shared
 * ones) for frame `frame`. Undefined when any of position, orientation or
 * pixel spacing is missing.
 */
function planeGeometry(
  src: Source,
  frame: number | undefined,
): PlaneGeometry | undefined {
  const { set } = src;
  const top = (tag: number): Found | undefined => {
    const el = findElement(set.elements, tag);
    return el && { buffer: set.buffer, encoding: set.encoding, el };
  };
  let position: Found | undefined;
  let orientation: Found | undefined;
  let spacing: Found | undefined;
  let thickness: Found | undefined;
  if (frame === undefined) {
    position = top(IPP);
    orientation = top(IOP);
    spacing = top(PIXEL_SPACING);
    thickness = top(SLICE_THICKNESS);
  } else {
    const own = findElement(set.elements, PER_FRAME)?.items?.[frame];
    const shared = findElement(set.elements, SHARED)?.items?.[0];
    const either = (seq: number, tag: number) =>
      inGroup(set.buffer, own, seq, tag) ??
      inGroup(set.buffer, shared, seq, tag);
    // A multi-frame image's top-level position, if any, is not each
    // frame's: only the functional groups say where a frame lies.
    position = either(PLANE_POSITION, IPP);
    orientation = either(PLANE_ORIENTATION, IOP) ?? top(IOP);
    spacing = either(PIXEL_MEASURES, PIXEL_SPACING) ?? top(PIXEL_SPACING);
    thickness = either(PIXEL_MEASURES, SLICE_THICKNESS) ?? top(SLICE_THICKNESS);
  }
  const dec = (f: Found | undefined) => (f ? readDecimals(f.buffer, f.el) : []);
  const g = {
    position: dec(position),
    orientation: dec(orientation),
    spacing: dec(spacing),
  };
  if (
    g.position.length !== 3 ||
    g.orientation.length !== 6 ||
    g.spacing.length !== 2
  )
    return undefined;
  return thickness ? { ...g, thickness } : g;
}

/** Where a plane lies along the normal of its orientation. */
function alongNormal(g: PlaneGeometry): number {
  const [r0, r1, r2, c0, c1, c2] = g.orientation as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const n = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
  return g.position.reduce((s, v, i) => s + v * n[i]!, 0);
}

/** The same geometry value, written the same way, for every plane. */
function allSame(values: string[]): boolean {
  return values.every((v) => v === values[0]);
}

const ds = (values: number[]) => values.map(String).join('\\');

function thicknessOf(g: PlaneGeometry): string {
  const f = g.thickness;
  return f ? (readString(f.buffer, f.el) ?? '') : '';
}

/** Pixel Measures (PS3.3 C.7.6.16.2.1) of a plane. */
function pixelMeasures(w: DicomWriter, g: PlaneGeometry): void {
  w.beginSequence(PIXEL_MEASURES);
  w.beginItem();
  const f = g.thickness;
  if (f) w.copy(f.buffer, f.encoding, f.el);
  else w.element(SLICE_THICKNESS, 'DS', Buffer.alloc(0));
  w.string(PIXEL_SPACING, 'DS', ds(g.spacing));
  w.endItem();
  w.endSequence();
}

/** Plane Orientation (Patient) (PS3.3 C.7.6.16.2.4) of a plane. */
function planeOrientation(w: DicomWriter, g: PlaneGeometry): void {
  w.beginSequence(PLANE_ORIENTATION);
  w.beginItem();
  w.string(IOP, 'DS', ds(g.orientation));
  w.endItem();
  w.endSequence();
}

function badInput(why: string): MlError {
  return new MlError(MlErrorCode.BadInput, `no DICOM SEG: ${why}`);
}

/**
 * Encodes a model's masks over one or more source planes as a DICOM
 * Segmentation object (PS3.3 A.51, BINARY): for each segment (label) one
 * frame per plane, in the planes' order, each mask resampled (nearest) to
 * the sources' rows and columns. Each frame's Derivation Image Sequence
 * names its source instance (and, for a multi-frame source, the Referenced
 * Frame Number), its Plane Position (Patient) is the plane's, and
 * orientation and pixel measures are shared when every plane has the same
 * (per frame otherwise). Dimensions: the Referenced Segment Number, then,
 * with more than one plane, the Image Position (Patient), indexed by rank
 * along the slice normal. The first source's patient and study are copied;
 * UIDs derive from the model and `uidSeed`, so a rerun writes the same
 * object. Empty frames are kept, like a single-frame SEG's.
 * @throws MlError BAD_INPUT when a plane lacks the geometry a SEG needs
 * (ImagePositionPatient, ImageOrientationPatient, PixelSpacing, directly
 * or in a multi-frame image's functional groups), the sources differ in
 * rows, columns or FrameOfReferenceUID, a multi-frame source's plane has no
 * frame (or a frame it lacks), or two planes are the same frame.
 */
export function encodeSegmentationPlanes(s: SegmentationPlanes): Buffer {
  const sources = s.sources.map(parseSource);
  const first = sources[0];
  if (!first || !s.planes.length) throw badInput('no source plane');
  const rows = first.rows;
  const cols = first.columns;
  const forUid = first.str(0x0020, 0x0052);
  if (!rows || !cols || !forUid)
    throw badInput('the source lacks Rows, Columns or FrameOfReferenceUID');
  for (const src of sources) {
    if (src.rows !== rows || src.columns !== cols)
      throw badInput('the sources differ in rows or columns');
    if (src.str(0x0020, 0x0052) !== forUid)
      throw badInput('the sources differ in FrameOfReferenceUID');
    if (!src.str(0x0008, 0x0016) || !src.str(0x0008, 0x0018))
      throw badInput('a source lacks its SOP Class or Instance UID');
    if (!src.str(0x0020, 0x000e))
      throw badInput('a source lacks its SeriesInstanceUID');
  }
  const seen = new Set<string>();
  const geometry = s.planes.map((p) => {
    const src = sources[p.source];
    if (!src) throw badInput(`no source ${p.source}`);
    const multi = src.frames !== 1;
    if (
      multi &&
      (p.frame === undefined ||
        !Number.isInteger(p.frame) ||
        p.frame < 0 ||
        p.frame >= src.frames)
    )
      throw badInput('a multi-frame source plane needs one of its frames');
    const frame = multi ? p.frame : undefined;
    const id = `${p.source}/${frame ?? ''}`;
    if (seen.has(id)) throw badInput('a plane given twice');
    seen.add(id);
    const g = planeGeometry(src, frame);
    if (!g)
      throw badInput(
        'a source plane lacks ImagePositionPatient, ImageOrientationPatient or PixelSpacing',
      );
    return { g, frame };
  });
  // Rank along the normal: the position dimension's index values.
  const along = geometry.map(({ g }) => alongNormal(g));
  const distinct = [...new Set(along)].sort((a, b) => a - b);
  const rank = along.map((v) => distinct.indexOf(v) + 1);
  const sharedOrientation = allSame(geometry.map(({ g }) => ds(g.orientation)));
  const sharedMeasures = allSame(
    geometry.map(({ g }) => `${ds(g.spacing)}|${thicknessOf(g)}`),
  );
  const byPosition = s.planes.length > 1;

  const src = first.set;
  const find = (g: number, e: number) => findElement(src.elements, t(g, e));
  const str = first.str;
  const sourceSeries = str(0x0020, 0x000e)!;
  const sop = uidFrom('seg', s.model.sha256, s.uidSeed ?? str(0x0008, 0x0018)!);
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
  // Referenced Series Sequence: each referenced instance once, by series.
  const bySeries = new Map<string, Source[]>();
  for (const i of new Set(s.planes.map((p) => p.source))) {
    const one = sources[i]!;
    const key = one.str(0x0020, 0x000e)!;
    bySeries.set(key, [...(bySeries.get(key) ?? []), one]);
  }
  w.beginSequence(t(0x0008, 0x1115));
  for (const [uid, members] of bySeries) {
    w.beginItem();
    w.beginSequence(t(0x0008, 0x114a));
    for (const one of members) {
      w.beginItem();
      w.string(t(0x0008, 0x1150), 'UI', one.str(0x0008, 0x0016)!);
      w.string(t(0x0008, 0x1155), 'UI', one.str(0x0008, 0x0018)!);
      w.endItem();
    }
    w.endSequence();
    w.string(t(0x0020, 0x000e), 'UI', uid);
    w.endItem();
  }
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
  if (byPosition) {
    w.beginItem();
    w.string(t(0x0020, 0x9164), 'UI', orgUid);
    w.element(t(0x0020, 0x9165), 'AT', at(IPP));
    w.element(t(0x0020, 0x9167), 'AT', at(PLANE_POSITION));
    w.endItem();
  }
  w.endSequence();
  w.element(t(0x0028, 0x0002), 'US', us(1));
  w.string(t(0x0028, 0x0004), 'CS', 'MONOCHROME2');
  w.string(t(0x0028, 0x0008), 'IS', String(n * s.planes.length));
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
  const g0 = geometry[0]!.g;
  w.beginSequence(SHARED);
  w.beginItem();
  if (sharedOrientation) planeOrientation(w, g0);
  if (sharedMeasures) pixelMeasures(w, g0);
  w.endItem();
  w.endSequence();
  w.beginSequence(PER_FRAME);
  for (let segment = 1; segment <= n; segment++)
    s.planes.forEach((plane, k) => {
      const { g, frame } = geometry[k]!;
      const one = sources[plane.source]!;
      w.beginItem();
      w.beginSequence(t(0x0008, 0x9124));
      w.beginItem();
      w.beginSequence(t(0x0008, 0x2112));
      w.beginItem();
      w.string(t(0x0008, 0x1150), 'UI', one.str(0x0008, 0x0016)!);
      w.string(t(0x0008, 0x1155), 'UI', one.str(0x0008, 0x0018)!);
      // PS3.3 C.7.6.1.1.3: frames are numbered from 1.
      if (frame !== undefined)
        w.string(t(0x0008, 0x1160), 'IS', String(frame + 1));
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
      const index = byPosition ? [segment, rank[k]!] : [segment];
      w.element(t(0x0020, 0x9157), 'UL', Buffer.concat(index.map(ul)));
      w.endItem();
      w.endSequence();
      w.beginSequence(PLANE_POSITION);
      w.beginItem();
      w.string(IPP, 'DS', ds(g.position));
      w.endItem();
      w.endSequence();
      if (!sharedOrientation) planeOrientation(w, g);
      if (!sharedMeasures) pixelMeasures(w, g);
      w.beginSequence(t(0x0062, 0x000a));
      w.beginItem();
      w.element(t(0x0062, 0x000b), 'US', us(segment));
      w.endItem();
      w.endSequence();
      w.endItem();
    });
  w.endSequence();
  // Frames segment by segment, each segment's planes in order.
  const plane = s.maskRows * s.maskColumns;
  const stacked = new Uint8Array(n * s.planes.length * plane);
  for (let l = 0; l < n; l++)
    s.planes.forEach((p, k) =>
      stacked.set(
        p.mask.subarray(l * plane, (l + 1) * plane),
        (l * s.planes.length + k) * plane,
      ),
    );
  w.element(
    t(0x7fe0, 0x0010),
    'OB',
    packMaskBits(
      stacked,
      n * s.planes.length,
      s.maskRows,
      s.maskColumns,
      rows,
      cols,
    ),
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

/**
 * Encodes a model's mask as a DICOM Segmentation object (PS3.3 A.51,
 * BINARY, one frame per label) over its single-frame source image: the mask
 * resampled (nearest) to the source's rows and columns, the source's
 * patient, study and frame of reference, and its geometry in the functional
 * groups (see encodeSegmentationPlanes).
 * @throws MlError BAD_INPUT when the source lacks the geometry a SEG needs
 * (ImagePositionPatient, ImageOrientationPatient, PixelSpacing,
 * FrameOfReferenceUID) or is multi-frame.
 */
export function encodeSegmentation(s: SegmentationSource): Buffer {
  return encodeSegmentationPlanes({
    sources: [s.source],
    planes: [{ source: 0, mask: s.mask }],
    maskRows: s.maskRows,
    maskColumns: s.maskColumns,
    labels: s.labels,
    model: s.model,
    createdAt: s.createdAt,
  });
}
