import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderFrame } from '@lpacs/pixels';
import { DicomWebError } from './DicomWebError';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { negotiate } from './negotiate';
import { renderParams } from './renderParams';
import { frameNumbers, pixelFailure, readObject } from './wadoShared';
import type { WadoContext } from './wadoShared';

/**
 * One frame rendered as JPEG or PNG (PS3.18 10.4.1.1.4), the first when
 * the path names no frame.
 */
export async function retrieveRendered(
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
