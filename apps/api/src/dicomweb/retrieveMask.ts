import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeGreyPng } from '@lpacs/pixels';
import { DicomWebError, badParameter } from './DicomWebError';
import { describe } from './instanceRows';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { frameMask } from './frameMask';
import { negotiate } from './negotiate';
import { frameNumbers } from './wadoShared';
import type { WadoContext } from './wadoShared';

const SHA256 = /^[0-9a-f]{64}$/;

function modelOf(search: URLSearchParams): string {
  for (const name of search.keys())
    if (name !== 'model')
      throw badParameter(name, 'a mask takes only model=<SHA-256>');
  const model = search.get('model');
  if (model === null || !SHA256.test(model))
    throw badParameter(
      'model',
      `"${(model ?? '').slice(0, 70)}" is not a model's SHA-256 (64 hex digits)`,
    );
  return model;
}

/**
 * A segmentation model's mask over one frame, as an 8-bit greyscale PNG of
 * the image's size whose pixels hold the segment number (0: none): an
 * lpacs extension, `frames/{n}/mask?model=<SHA-256>`. The mask comes from
 * the DICOM SEG the model's job wrote when there is one, else from its
 * `.npy` for that frame or, for a stacking model, for the whole series
 * (see frameMask).
 * @throws DicomWebError 404 when the model left no mask for this frame.
 */
export async function retrieveMask(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  row: InstanceRow,
  path: ResourcePath,
  search: URLSearchParams,
  list: string,
): Promise<void> {
  const model = modelOf(search);
  negotiate(req.headers.accept, ['image/png']);
  const numbers = frameNumbers(list, row, path);
  if (numbers.length !== 1)
    throw new DicomWebError(
      400,
      'ask for one frame at a time: frames/{n}/mask',
    );
  const frame = numbers[0]!;
  const cacheKey = `mask\0${model}\0${row.SOPInstanceUID}\0${frame}`;
  let png = ctx.images?.get(cacheKey);
  if (!png) {
    const mask = await frameMask(ctx, row, model, frame);
    if (!mask)
      throw new DicomWebError(
        404,
        `${describe(path)}, frame ${frame}: no mask by model ${model.slice(0, 12)}`,
      );
    png = await encodeGreyPng(mask.segments, mask.columns, mask.rows);
    ctx.images?.set(cacheKey, png);
  }
  const etag = `"${createHash('sha256').update(png).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'content-type': 'image/png',
    // A rerun of the model may rewrite the SEG: revalidate by ETag.
    'cache-control': 'private, max-age=300',
    etag,
  };
  if (req.headers['if-none-match']?.split(',').some((e) => e.trim() === etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, headers).end(png);
}
