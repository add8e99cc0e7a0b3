import type { IncomingMessage } from 'node:http';

/** Reads a request body up to a limit; rejects with status 413 past it. */
export async function readBodyBuffer(
  req: IncomingMessage,
  limit: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw Object.assign(new Error(`request body over ${limit} bytes`), {
        status: 413,
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a request body as UTF-8 text up to a limit. */
export async function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<string> {
  return (await readBodyBuffer(req, limit)).toString('utf8');
}
