import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderFrame } from '@lpacs/pixels';
import { badParameter } from './DicomWebError';
import type { InstanceRow, ResourcePath } from './instanceRows';
import { negotiate } from './negotiate';
import { pixelFailure, readObject } from './wadoShared';
import type { WadoContext } from './wadoShared';

/** The box a thumbnail fits in when the request names none. */
const DEFAULT_SIDE = 128;
const MAX_SIDE = 512;

/**
 * Thumbnails change only when instances join the series (the middle one
 * moves), so a browser keeps one a few minutes and then revalidates it
 * by its ETag, which costs one catalog query and no rendering.
 */
const CACHE_CONTROL = 'private, max-age=300';

/** The middle frame of a series' frames, taken in instance order. */
export function middleFrame(rows: readonly InstanceRow[]): {
  row: InstanceRow;
  frame: number;
} {
  let at = Math.floor(
    rows.reduce((n, r) => n + Math.max(1, r.NumberOfFrames), 0) / 2,
  );
  for (const row of rows) {
    const frames = Math.max(1, row.NumberOfFrames);
    if (at < frames) return { row, frame: at };
    at -= frames;
  }
  return { row: rows[rows.length - 1]!, frame: 0 };
}

/** `viewport=columns,rows` (PS3.18 8.3.5.1.3, width and height only). */
function viewport(search: URLSearchParams): [number, number] {
  for (const name of search.keys())
    if (name !== 'viewport' && name !== 'quality')
      throw badParameter(
        name,
        'not supported for thumbnails (viewport, quality)',
      );
  const raw = search.get('viewport');
  if (raw === null) return [DEFAULT_SIDE, DEFAULT_SIDE];
  const parts = raw.split(',');
  const [w, h] = parts.map(Number);
  if (
    parts.length !== 2 ||
    !Number.isInteger(w) ||
    !Number.isInteger(h) ||
    w! < 1 ||
    h! < 1 ||
    w! > MAX_SIDE ||
    h! > MAX_SIDE
  )
    throw badParameter(
      'viewport',
      `"${raw.slice(0, 40)}" is not columns,rows, each 1 to ${MAX_SIDE}`,
    );
  return [w!, h!];
}

function quality(search: URLSearchParams): number {
  const raw = search.get('quality');
  if (raw === null) return 80;
  const q = Number(raw);
  if (!Number.isInteger(q) || q < 1 || q > 100)
    throw badParameter('quality', `"${raw.slice(0, 20)}" is not 1 to 100`);
  return q;
}

/**
 * A series' thumbnail (the PS3.18 `thumbnail` resource): its middle frame,
 * rendered with the file's window and shrunk to fit the viewport, as JPEG
 * (the default) or PNG. Rendered once per object, frame and size, then
 * served from `ctx.images`; answers 304 to a matching If-None-Match.
 */
export async function retrieveThumbnail(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WadoContext,
  rows: readonly InstanceRow[],
  path: ResourcePath,
  search: URLSearchParams,
): Promise<void> {
  const [columns, rowsFit] = viewport(search);
  const q = quality(search);
  const type = negotiate(req.headers.accept, ['image/jpeg', 'image/png']);
  const { row, frame } = middleFrame(rows);
  const key = [row.object_key, frame, columns, rowsFit, type, q].join('\0');
  const etag = `"${createHash('sha256').update(key).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'content-type': type,
    'cache-control': CACHE_CONTROL,
    etag,
    vary: 'accept',
  };
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((t) => t.trim() === etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  let image = ctx.images?.get(key);
  if (!image) {
    try {
      image = await renderFrame(await readObject(ctx, row), frame, {
        format: type === 'image/png' ? 'png' : 'jpeg',
        quality: q,
        fit: { columns, rows: rowsFit },
      });
    } catch (err) {
      throw pixelFailure(err, path);
    }
    ctx.images?.set(key, image);
  }
  res.writeHead(200, headers).end(image);
}
