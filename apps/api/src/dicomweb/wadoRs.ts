import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseDicom } from '@lpacs/dicom';
import type { Catalog } from '@lpacs/lake';
import {
  PixelError,
  PixelErrorCode,
  decodeFrame,
  renderFrame,
} from '@lpacs/pixels';
import { DicomWebError, badParameter } from './DicomWebError';
import { frameOctets } from './frameOctets';
import { describe, instanceRows } from './instanceRows';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { EXPLICIT_LE, negotiate, negotiateMultipart } from './negotiate';
import { renderParams } from './renderParams';
import { toDicomJson } from './toDicomJson';
import { writeMultipart } from './writeMultipart';

/** Where WADO-RS reads from. */
export interface WadoContext {
  catalog: Catalog;
  lake: string;
}

/** What a WADO-RS path asks for (PS3.18 10.4). */
export type WadoTarget =
  | { kind: 'instances' }
  | { kind: 'metadata' }
  | { kind: 'frames'; frames: string }
  | { kind: 'rendered'; frames?: string };

function readObject(ctx: WadoContext, row: InstanceRow): Promise<Buffer> {
  return readFile(join(ctx.lake, row.object_key));
}

/** Maps pixel failures to statuses; the message names no value. */
function pixelFailure(err: unknown, path: ResourcePath): unknown {
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
function frameNumbers(
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

function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}/dicomweb`;
}

async function metadata(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  rows: InstanceRow[],
): Promise<void> {
  negotiate(req.headers.accept, ['application/dicom+json', 'application/json']);
  const out = [];
  for (const row of rows) {
    const file = parseDicom(await readObject(ctx, row));
    const frames = Array.from({ length: row.NumberOfFrames }, (_, i) => i + 1);
    const pixelDataUri = `${baseUrl(req)}/studies/${row.StudyInstanceUID}/series/${row.SeriesInstanceUID}/instances/${row.SOPInstanceUID}/frames/${frames.join(',')}`;
    out.push(toDicomJson({ ...file.body, pixelDataUri }, file.body.elements));
  }
  res
    .writeHead(200, { 'content-type': 'application/dicom+json' })
    .end(JSON.stringify(out));
}

async function frames(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  row: InstanceRow,
  path: ResourcePath,
  list: string,
): Promise<void> {
  const numbers = frameNumbers(list, row, path);
  const multipart = negotiateMultipart(
    req.headers.accept,
    'application/octet-stream',
    [EXPLICIT_LE],
    numbers.length === 1,
  );
  const bytes = await readObject(ctx, row);
  const decode = async (n: number) => {
    try {
      return frameOctets(
        (await decodeFrame(bytes, n - 1)).stored,
        row.BitsAllocated,
      );
    } catch (err) {
      throw pixelFailure(err, path);
    }
  };
  if (!multipart) {
    const body = await decode(numbers[0] ?? 1);
    res
      .writeHead(200, { 'content-type': 'application/octet-stream' })
      .end(body);
    return;
  }
  await writeMultipart(
    res,
    'application/octet-stream',
    numbers.map((n) => ({
      contentType: `application/octet-stream; transfer-syntax=${EXPLICIT_LE}`,
      bytes: () => decode(n),
    })),
  );
}

async function rendered(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  row: InstanceRow,
  path: ResourcePath,
  search: URLSearchParams,
  list: string | undefined,
): Promise<void> {
  const options = renderParams(search);
  // PS3.18 8.7.4: JPEG is the default rendered media type.
  const type = negotiate(req.headers.accept, ['image/jpeg', 'image/png']);
  const numbers = list === undefined ? [1] : frameNumbers(list, row, path);
  if (numbers.length !== 1)
    throw new DicomWebError(
      400,
      'render one frame at a time: frames/{n}/rendered',
    );
  let image: Buffer;
  try {
    image = await renderFrame(
      await readObject(ctx, row),
      (numbers[0] ?? 1) - 1,
      {
        ...options,
        format: type === 'image/png' ? 'png' : 'jpeg',
      },
    );
  } catch (err) {
    throw pixelFailure(err, path);
  }
  res.writeHead(200, { 'content-type': type }).end(image);
}

/**
 * WADO-RS (PS3.18 10.4) over the lake: studies, series and instances as
 * multipart/related application/dicom (as stored, no transcoding), their
 * metadata as DICOM JSON, frames as uncompressed octets and rendered
 * frames as PNG or JPEG.
 * @throws DicomWebError 404 for unknown UIDs or frames, 406 for an Accept
 * it cannot meet, 400 for bad parameters.
 */
export async function wadoRs(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  path: ResourcePath,
  target: WadoTarget,
  search: URLSearchParams,
): Promise<void> {
  if (target.kind !== 'rendered' && [...search.keys()].length > 0) {
    const [name = ''] = search.keys();
    throw badParameter(name, 'this resource takes no query parameters');
  }
  const rows = await instanceRows(ctx.catalog, path);
  if (target.kind === 'metadata') return metadata(req, res, ctx, rows);
  if (target.kind === 'instances') {
    negotiateMultipart(
      req.headers.accept,
      'application/dicom',
      rows.map((r) => r.TransferSyntaxUID),
    );
    return writeMultipart(
      res,
      'application/dicom',
      rows.map((row) => ({
        contentType: `application/dicom; transfer-syntax=${row.TransferSyntaxUID}`,
        bytes: () => readObject(ctx, row),
      })),
    );
  }
  const [row] = rows;
  if (!row || !path.instance) {
    throw new DicomWebError(404, `frames need an instance: ${describe(path)}`);
  }
  if (target.kind === 'frames')
    return frames(req, res, ctx, row, path, target.frames);
  return rendered(req, res, ctx, row, path, search, target.frames);
}
