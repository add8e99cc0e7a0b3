import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** One body part: its content type and a way to get its bytes. */
export interface OutgoingPart {
  contentType: string;
  bytes: () => Promise<Uint8Array>;
}

/**
 * Sends parts as `multipart/related` (RFC 2387, PS3.18 8.7.3.4), one part
 * read at a time so that a large study is not held in memory at once.
 */
export async function writeMultipart(
  res: ServerResponse,
  type: string,
  parts: readonly OutgoingPart[],
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const boundary = `lpacs-${randomBytes(12).toString('hex')}`;
  // Read the first part before the headers go out, so that a failure
  // still yields a proper error status.
  let next = parts[0] ? await parts[0].bytes() : undefined;
  res.writeHead(200, {
    'content-type': `multipart/related; type="${type}"; boundary=${boundary}`,
    ...extraHeaders,
  });
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!part) continue;
    const bytes = next ?? (await part.bytes());
    next = undefined;
    res.write(`--${boundary}\r\nContent-Type: ${part.contentType}\r\n\r\n`);
    res.write(bytes);
    res.write('\r\n');
  }
  res.end(`--${boundary}--\r\n`);
}
