import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeFrame } from '@lpacs/pixels';
import { frameOctets } from './frameOctets';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { EXPLICIT_LE, negotiateMultipart } from './negotiate';
import { frameNumbers, pixelFailure, readObject } from './wadoShared';
import type { WadoContext } from './wadoShared';
import { writeMultipart } from './writeMultipart';

/**
 * Frames of an instance as uncompressed little-endian octets
 * (PS3.18 10.4.1.1.3): multipart, or one bare part when the client asks
 * for plain application/octet-stream and one frame.
 * @param list the path's comma-separated 1-based frame numbers
 */
export async function retrieveFrames(
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
