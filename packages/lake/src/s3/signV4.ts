import { createHash, createHmac } from 'node:crypto';

/** Credentials of an S3-compatible store (never logged). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request to sign: the path and query are not yet encoded. */
export interface UnsignedRequest {
  method: string;
  /** Host header value, with the port when it is not the scheme's default. */
  host: string;
  path: string;
  query?: Record<string, string>;
  /** Extra headers to sign, lower-case names. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/**
 * RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~
 * escaped, '/' kept in paths. encodeURIComponent leaves ! ' ( ) * alone.
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function canonicalQuery(query: Record<string, string> = {}): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const hmac = (key: Buffer | string, text: string) =>
  createHmac('sha256', key).update(text, 'utf8').digest();

/**
 * Signs a request with AWS Signature Version 4 for S3 (the path is encoded
 * once and not normalised, as S3 wants). Returns every header to send,
 * Authorization included.
 */
export function signV4(
  req: UnsignedRequest,
  creds: S3Credentials,
  region: string,
  now: Date = new Date(),
  service = 's3',
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(req.headers ?? {}).map(([k, v]) => [
        k.toLowerCase(),
        v.trim().replace(/\s+/g, ' '),
      ]),
    ),
    host: req.host,
    'x-amz-content-sha256': req.payloadHash,
    'x-amz-date': amzDate,
  };
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  const canonical = [
    req.method,
    uriEncode(req.path, true),
    canonicalQuery(req.query),
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    req.payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical, 'utf8').digest('hex'),
  ].join('\n');
  let key = hmac(`AWS4${creds.secretAccessKey}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key)
    .update(toSign, 'utf8')
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
