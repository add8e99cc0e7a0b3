/** One part of a multipart body: its headers (lower-case names) and bytes. */
export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** The value of a parameter in a header like `multipart/related; boundary="x"`. */
export function headerParam(header: string, name: string): string | undefined {
  const re = new RegExp(
    `(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`,
    'i',
  );
  const m = re.exec(header);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Splits a multipart body (RFC 2046) into parts without copying their
 * bytes. Preamble and epilogue are ignored.
 * @throws Error naming what is wrong when the body does not follow the boundary.
 */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0)
    throw new Error(
      `no part starts with the boundary "${boundary.slice(0, 70)}"`,
    );
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return parts; // closing delimiter
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0)
      throw new Error(`part ${parts.length + 1} has no end of headers`);
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(at, headerEnd)
      .toString('latin1')
      .split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line
          .slice(colon + 1)
          .trim();
    }
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0)
      throw new Error(`part ${parts.length + 1} is not closed by the boundary`);
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
}
