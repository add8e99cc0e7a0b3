import { readObject as readLakeObject } from '@lpacs/lake';
import type { Catalog } from '@lpacs/lake';
import { PixelError, PixelErrorCode } from '@lpacs/pixels';
import { DicomWebError, badParameter } from './DicomWebError';
import { describe } from './instanceRows';
import type { InstanceRow, ResourcePath } from './instanceRows';
import type { RenderedCache } from './RenderedCache';

/** Where WADO-RS reads from. */
export interface WadoContext {
  catalog: Catalog;
  lake: string;
  /** SOP Instance UIDs the caller may see, when limited (see DicomWebContext). */
  scope?: readonly string[];
  /** Rendered thumbnails and masks, kept across requests by the server. */
  images?: RenderedCache;
}

/** The stored object of an instance. */
export function readObject(
  ctx: WadoContext,
  row: InstanceRow,
): Promise<Buffer> {
  return readLakeObject(ctx.lake, row.object_key);
}

/** Maps pixel failures to statuses; the message names no value. */
export function pixelFailure(err: unknown, path: ResourcePath): unknown {
  if (!(err instanceof PixelError)) return err;
  const where = describe(path);
  switch (err.code) {
    case PixelErrorCode.FrameOutOfRange:
    case PixelErrorCode.MissingPixelData:
      return new DicomWebError(404, `${where}: ${err.message}`);
    case PixelErrorCode.BadWindow:
      return badParameter('window', err.message);
    case PixelErrorCode.UnsupportedTransferSyntax:
    case PixelErrorCode.UnsupportedPixelFormat:
      return new DicomWebError(
        406,
        `${where} cannot be decoded here: ${err.message}`,
      );
    default:
      return new DicomWebError(500, `${where}: ${err.code}: ${err.message}`);
  }
}

/** 1-based frame numbers of a `frames/1,3` path segment. */
export function frameNumbers(
  list: string,
  row: InstanceRow,
  path: ResourcePath,
): number[] {
  const numbers = list.split(',').map((n) => n.trim());
  return numbers.map((n) => {
    if (!/^\d{1,9}$/.test(n) || Number(n) < 1)
      throw new DicomWebError(
        400,
        `bad frame number "${n.slice(0, 20)}" in the path: frames count from 1`,
      );
    if (Number(n) > row.NumberOfFrames)
      throw new DicomWebError(
        404,
        `${describe(path)} has ${row.NumberOfFrames} frame(s), not frame ${n}`,
      );
    return Number(n);
  });
}
