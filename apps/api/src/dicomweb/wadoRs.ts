import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDicom } from '@lpacs/dicom';
import { DicomWebError, badParameter } from './DicomWebError';
import { describe, instanceRows } from './instanceRows';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { negotiateDicomJson, negotiateMultipart } from './negotiate';
import { retrieveFrames } from './retrieveFrames';
import { retrieveMask } from './retrieveMask';
import { retrieveRendered } from './retrieveRendered';
import { retrieveThumbnail } from './retrieveThumbnail';
import { toDicomJson } from './toDicomJson';
import { readObject } from './wadoShared';
import type { WadoContext } from './wadoShared';
import { writeMultipart } from './writeMultipart';

export type { WadoContext } from './wadoShared';

/** What a WADO-RS path asks for (PS3.18 10.4). */
export type WadoTarget =
  | { kind: 'instances' }
  | { kind: 'metadata' }
  | { kind: 'frames'; frames: string }
  | { kind: 'rendered'; frames?: string }
  | { kind: 'thumbnail' }
  | { kind: 'mask'; frames: string };

function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}/dicomweb`;
}

async function metadata(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  rows: InstanceRow[],
): Promise<void> {
  const type = negotiateDicomJson(req.headers.accept);
  const out = [];
  for (const row of rows) {
    const file = parseDicom(await readObject(ctx, row));
    const frames = Array.from({ length: row.NumberOfFrames }, (_, i) => i + 1);
    const pixelDataUri = `${baseUrl(req)}/studies/${row.StudyInstanceUID}/series/${row.SeriesInstanceUID}/instances/${row.SOPInstanceUID}/frames/${frames.join(',')}`;
    out.push(toDicomJson({ ...file.body, pixelDataUri }, file.body.elements));
  }
  res.writeHead(200, { 'content-type': type }).end(JSON.stringify(out));
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
  const takesParameters =
    target.kind === 'rendered' ||
    target.kind === 'thumbnail' ||
    target.kind === 'mask';
  if (!takesParameters && [...search.keys()].length > 0) {
    const [name = ''] = search.keys();
    throw badParameter(name, 'this resource takes no query parameters');
  }
  const rows = await instanceRows(ctx.catalog, path, ctx.scope);
  if (target.kind === 'metadata') return metadata(req, res, ctx, rows);
  if (target.kind === 'thumbnail')
    return retrieveThumbnail(req, res, ctx, rows, path, search);
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
    return retrieveFrames(req, res, ctx, row, path, target.frames);
  if (target.kind === 'mask')
    return retrieveMask(req, res, ctx, row, path, search, target.frames);
  return retrieveRendered(req, res, ctx, row, path, search, target.frames);
}
