import { Tag, findElement, readNumber, readString } from '@lpacs/dicom';
import type { DataSet, DicomElement } from '@lpacs/dicom';

/** A rectangle of pixels, 0-based from the top left corner. */
export interface BlankingRectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where one device burns text into its pixels: objects whose Manufacturer
 * (0008,0070) and ManufacturerModelName (0008,1090) match (trimmed, case
 * ignored), and Rows and Columns when given, have these rectangles zeroed
 * in every frame instead of being refused.
 */
export interface BlankingRule {
  manufacturer: string;
  model: string;
  rows?: number;
  columns?: number;
  rectangles: BlankingRectangle[];
}

/** The Image Pixel attributes blanking needs (PS3.3 C.7.6.3). */
export interface PixelLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  planar: boolean;
  frames: number;
  photometric: string;
  pixelData: DicomElement | undefined;
}

const PlanarConfiguration = 0x00280006;

/** Reads the Image Pixel attributes of a data set's top level. */
export function pixelLayout(set: DataSet): PixelLayout {
  const top = set.elements;
  const num = (tag: number) =>
    readNumber(set.buffer, set.encoding, findElement(top, tag));
  return {
    rows: num(Tag.Rows) ?? 0,
    columns: num(Tag.Columns) ?? 0,
    samplesPerPixel: num(Tag.SamplesPerPixel) ?? 1,
    bitsAllocated: num(Tag.BitsAllocated) ?? 0,
    planar: (num(PlanarConfiguration) ?? 0) === 1,
    frames: Math.max(1, num(Tag.NumberOfFrames) ?? 1),
    photometric:
      readString(
        set.buffer,
        findElement(top, Tag.PhotometricInterpretation),
      )?.trim() ?? '',
    pixelData: findElement(top, Tag.PixelData),
  };
}

const same = (a: string | undefined, b: string) =>
  (a ?? '').trim().toLowerCase() === b.trim().toLowerCase();

/** The first rule that matches the object's device and size, if any. */
export function matchBlankingRule(
  rules: readonly BlankingRule[],
  set: DataSet,
): BlankingRule | undefined {
  if (!rules.length) return undefined;
  const top = set.elements;
  const manufacturer = readString(
    set.buffer,
    findElement(top, Tag.Manufacturer),
  );
  const model = readString(
    set.buffer,
    findElement(top, Tag.ManufacturerModelName),
  );
  const layout = pixelLayout(set);
  return rules.find(
    (r) =>
      same(manufacturer, r.manufacturer) &&
      same(model, r.model) &&
      (r.rows === undefined || r.rows === layout.rows) &&
      (r.columns === undefined || r.columns === layout.columns),
  );
}

/**
 * Why native pixel data of this layout cannot be blanked, or undefined
 * when it can: whole bytes per sample and one value per sample per pixel.
 */
export function cannotBlank(
  layout: PixelLayout,
  littleEndian: boolean,
): string | undefined {
  const { pixelData, rows, columns, samplesPerPixel, bitsAllocated } = layout;
  if (!pixelData || pixelData.fragments || pixelData.undefinedLength)
    return 'it has no native Pixel Data (7FE0,0010)';
  if (![8, 16, 32].includes(bitsAllocated))
    return `BitsAllocated (0028,0100) is ${bitsAllocated}`;
  if (/^YBR_(FULL_422|PARTIAL_42)/.test(layout.photometric))
    return `${layout.photometric} shares chroma between pixels`;
  if (bitsAllocated === 8 && !littleEndian && pixelData.vr === 'OW')
    return '8-bit OW big endian pixel data is swapped in words';
  const frameBytes = (rows * columns * samplesPerPixel * bitsAllocated) / 8;
  if (!frameBytes || pixelData.length < frameBytes * layout.frames)
    return `Pixel Data holds ${pixelData.length} bytes, fewer than ${layout.frames} frames of ${rows}x${columns}`;
  return undefined;
}

/**
 * A copy of native pixel data with the rule's rectangles zeroed in every
 * frame and every sample (clipped to the image). Zero is a stored value of
 * 0 whatever the byte order. @returns the bytes and how many rectangles
 * were applied (one per rectangle per frame).
 */
export function blankPixels(
  source: Buffer,
  layout: PixelLayout,
  rule: BlankingRule,
): { pixels: Buffer; rectangles: number } {
  const pixels = Buffer.from(source);
  const { rows, columns, samplesPerPixel: spp, planar } = layout;
  const bytes = layout.bitsAllocated / 8;
  const frameBytes = rows * columns * spp * bytes;
  let applied = 0;
  for (const r of rule.rectangles) {
    const x0 = Math.max(0, r.x);
    const y0 = Math.max(0, r.y);
    const x1 = Math.min(columns, r.x + r.width);
    const y1 = Math.min(rows, r.y + r.height);
    if (x1 <= x0 || y1 <= y0) continue;
    for (let f = 0; f < layout.frames; f++) {
      const frame = f * frameBytes;
      for (let y = y0; y < y1; y++) {
        if (planar) {
          const plane = rows * columns * bytes;
          for (let s = 0; s < spp; s++) {
            const at = frame + s * plane + (y * columns + x0) * bytes;
            pixels.fill(0, at, at + (x1 - x0) * bytes);
          }
        } else {
          const at = frame + (y * columns + x0) * spp * bytes;
          pixels.fill(0, at, at + (x1 - x0) * spp * bytes);
        }
      }
      applied++;
    }
  }
  return { pixels, rectangles: applied };
}

function positiveInt(value: unknown, what: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new Error(
      `${what} must be an integer of at least ${min}, got ${JSON.stringify(value)}`,
    );
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value.trim())
    throw new Error(`${what} must be a non-empty string`);
  return value;
}

/**
 * Reads blanking rules from untrusted JSON (lake.json).
 * @throws Error naming the first bad rule and field.
 */
export function parseBlankingRules(input: unknown): BlankingRule[] {
  if (input === undefined) return [];
  if (!Array.isArray(input))
    throw new Error('blanking must be a list of rules');
  return input.map((raw: unknown, i) => {
    const at = `blanking[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new Error(`${at} must be an object`);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (
        !['manufacturer', 'model', 'rows', 'columns', 'rectangles'].includes(k)
      )
        throw new Error(`${at} has an unknown field "${k}"`);
    if (!Array.isArray(r.rectangles) || r.rectangles.length === 0)
      throw new Error(`${at}.rectangles must be a non-empty list`);
    const rule: BlankingRule = {
      manufacturer: text(r.manufacturer, `${at}.manufacturer`),
      model: text(r.model, `${at}.model`),
      rectangles: r.rectangles.map((q: unknown, j) => {
        const where = `${at}.rectangles[${j}]`;
        const o = (q ?? {}) as Record<string, unknown>;
        return {
          x: positiveInt(o.x, `${where}.x`, 0),
          y: positiveInt(o.y, `${where}.y`, 0),
          width: positiveInt(o.width, `${where}.width`),
          height: positiveInt(o.height, `${where}.height`),
        };
      }),
    };
    if (r.rows !== undefined) rule.rows = positiveInt(r.rows, `${at}.rows`);
    if (r.columns !== undefined)
      rule.columns = positiveInt(r.columns, `${at}.columns`);
    return rule;
  });
}
