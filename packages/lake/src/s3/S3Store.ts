import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMPTY_SHA256, canonicalQuery, signV4, uriEncode } from './signV4';
import type { S3Credentials } from './signV4';

/** Where a lake's files go in an S3-compatible store. */
export interface S3Location {
  /** e.g. http://127.0.0.1:9000 or https://s3.example.org */
  endpoint: string;
  bucket: string;
  /** Key prefix, no leading or trailing slash ('' for the bucket root). */
  prefix: string;
  region: string;
  credentials: S3Credentials;
}

/** A failed S3 request: the store's error code and message, never a key. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/** What a request may carry: a streamed body comes from a factory, so a retry can send it again. */
interface SendOptions {
  query?: Record<string, string>;
  payloadHash?: string;
  headers?: Record<string, string>;
  body?: Buffer | (() => NodeJS.ReadableStream);
  ok?: number[];
}

/** Tries per request, the first pause, and how long a silent connection may stall. */
const ATTEMPTS = 4;
const RETRY_MS = 100;
const STALL_MS = 120_000;

/** Largest single PUT S3 accepts. */
const MAX_PUT = 5 * 1024 ** 3;

function xmlText(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml))
    out.push(
      m[1]!
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(+d))
        .replace(/&amp;/g, '&'),
    );
  return out;
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses `s3://bucket/prefix` with the endpoint, region and credentials
 * from the environment (the AWS names, so existing tooling's settings
 * apply). There is no default endpoint: lpacs sends a lake's files only
 * to a store the operator names.
 */
export function s3LocationFromUrl(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/i.exec(url);
  if (!m || /[A-Z]/.test(m[1]!))
    throw new Error(
      `${url} is not an S3 location: use s3://bucket/prefix (bucket names are 3-63 lower-case letters, digits, dots and hyphens)`,
    );
  // S3 keys are not paths: "a/../b" is a key of its own to S3, but not to
  // every client and server, so such a prefix could name another place.
  if ((m[2] ?? '').split('/').some((seg) => seg === '.' || seg === '..'))
    throw new Error(`${url}: an S3 prefix may not hold . or .. segments`);
  if (!endpoint)
    throw new Error(
      'no S3 endpoint: set AWS_ENDPOINT_URL (for example http://127.0.0.1:9000) or pass --s3-endpoint; lpacs has no default store',
    );
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new Error(
      `S3 endpoint ${endpoint} must be http(s)://host[:port] with no path`,
    );
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      'S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  return {
    endpoint: endpoint.replace(/\/$/, ''),
    bucket: m[1]!,
    prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, ''),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId,
      secretAccessKey,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    },
  };
}

/**
 * The few S3 operations a lake needs (PUT, GET, HEAD, list, DELETE) over
 * path-style URLs, signed with SigV4 and the body's SHA-256, so the store
 * refuses a body altered on the way. Keys are relative to the prefix.
 */
export class S3Store {
  readonly #loc: S3Location;
  readonly #url: URL;

  constructor(location: S3Location) {
    this.#loc = location;
    this.#url = new URL(location.endpoint);
  }

  /** `s3://bucket/prefix/key`, for messages and reader instructions. */
  url(key = ''): string {
    return `s3://${this.#loc.bucket}/${this.#full(key)}`;
  }

  #full(key: string): string {
    return [this.#loc.prefix, key].filter(Boolean).join('/');
  }

  /**
   * Sends a request, again (up to ATTEMPTS times, with a growing pause)
   * when the store is busy or failing (HTTP 500, 503) or the connection
   * breaks or stalls: object stores shed load that way, and a backup of a
   * million files must not stop at the first. Every attempt is signed
   * anew; a streamed body is made anew from its factory.
   */
  async #send(
    method: string,
    key: string | undefined,
    opts: SendOptions = {},
  ): Promise<IncomingMessage> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.#sendOnce(method, key, opts);
        if (
          attempt < ATTEMPTS &&
          (res.statusCode === 500 || res.statusCode === 503)
        ) {
          res.resume();
          await sleep(RETRY_MS * 2 ** attempt);
          continue;
        }
        return await this.#checked(method, key, opts, res);
      } catch (err) {
        const transient =
          err instanceof S3Error && err.status === 0 && attempt < ATTEMPTS;
        if (!transient) throw err;
        await sleep(RETRY_MS * 2 ** attempt);
      }
    }
  }

  async #sendOnce(
    method: string,
    key: string | undefined,
    opts: SendOptions,
  ): Promise<IncomingMessage> {
    const path =
      key === undefined
        ? `/${this.#loc.bucket}`
        : `/${this.#loc.bucket}/${this.#full(key)}`;
    const headers = signV4(
      {
        method,
        host: this.#url.host,
        path,
        query: opts.query,
        headers: opts.headers,
        payloadHash: opts.payloadHash ?? EMPTY_SHA256,
      },
      this.#loc.credentials,
      this.#loc.region,
    );
    const qs = canonicalQuery(opts.query);
    const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        {
          method,
          host: this.#url.hostname,
          port: this.#url.port || undefined,
          // Encoded exactly as signed.
          path: uriEncode(path, true) + (qs ? `?${qs}` : ''),
          headers,
        },
        resolve,
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new S3Error(
            0,
            err.code ?? 'NETWORK',
            `cannot reach the S3 endpoint ${this.#loc.endpoint} (AWS_ENDPOINT_URL or --s3-endpoint) for ${this.url(key ?? '')}: ${err.message}`,
          ),
        ),
      );
      req.setTimeout(STALL_MS, () =>
        req.destroy(
          Object.assign(new Error(`no answer in ${STALL_MS / 1000} s`), {
            code: 'ETIMEDOUT',
          }),
        ),
      );
      const body = opts.body;
      if (!body) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else pipeline(body(), req).catch(reject);
    });
  }

  async #checked(
    method: string,
    key: string | undefined,
    opts: SendOptions,
    res: IncomingMessage,
  ): Promise<IncomingMessage> {
    const status = res.statusCode ?? 0;
    if ((opts.ok ?? [200]).includes(status)) return res;
    const text = method === 'HEAD' ? '' : await readBody(res).catch(() => '');
    res.resume();
    const code =
      xmlText(text, 'Code')[0] ??
      (status === 403 ? 'AccessDenied' : `HTTP_${status}`);
    const message = xmlText(text, 'Message')[0] ?? res.statusMessage ?? '';
    // A HEAD's refusal has no body to say why.
    const hint =
      status === 403
        ? ': check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may use this bucket'
        : '';
    throw new S3Error(
      status,
      code,
      `S3 ${method} ${key === undefined ? this.url() : this.url(key)}: ${code}${message ? `: ${message}` : ''} (HTTP ${status})${hint}`,
    );
  }

  /** Creates the bucket if it does not exist. */
  async ensureBucket(): Promise<void> {
    const res = await this.#send('HEAD', undefined, { ok: [200, 404] });
    res.resume();
    if (res.statusCode === 404)
      (await this.#send('PUT', undefined, { ok: [200] })).resume();
  }

  /** Size of an object, or undefined when there is none. */
  async size(key: string): Promise<number | undefined> {
    const res = await this.#send('HEAD', key, { ok: [200, 404] });
    res.resume();
    if (res.statusCode === 404) return undefined;
    return Number(res.headers['content-length']);
  }

  async putBytes(key: string, bytes: Buffer): Promise<void> {
    (
      await this.#send('PUT', key, {
        body: bytes,
        payloadHash: createHash('sha256').update(bytes).digest('hex'),
        headers: { 'content-length': String(bytes.length) },
      })
    ).resume();
  }

  /**
   * Uploads a file with its SHA-256 signed (read once to hash, once to
   * send, unless the caller passes it as `known`). Returns that SHA-256. A PUT is atomic: readers see the old
   * object or the whole new one.
   */
  async putFile(
    key: string,
    path: string,
    size: number,
    known?: string,
  ): Promise<string> {
    if (size > MAX_PUT)
      throw new Error(
        `${key} is ${size} bytes, over the 5 GiB a single S3 PUT takes (multipart upload is not implemented)`,
      );
    let sha256 = known;
    if (!sha256) {
      const hash = createHash('sha256');
      for await (const c of createReadStream(path)) hash.update(c as Buffer);
      sha256 = hash.digest('hex');
    }
    (
      await this.#send('PUT', key, {
        body: () => createReadStream(path),
        payloadHash: sha256,
        headers: { 'content-length': String(size) },
      })
    ).resume();
    return sha256;
  }

  /** Downloads an object to a file; returns the SHA-256 of what arrived. */
  async getFile(key: string, path: string): Promise<string> {
    const res = await this.#send('GET', key);
    const hash = createHash('sha256');
    await pipeline(
      res,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createWriteStream(path),
    );
    return hash.digest('hex');
  }

  /** The SHA-256 of an object's bytes, read back whole. */
  async hash(key: string): Promise<string> {
    const res = await this.#send('GET', key);
    const hash = createHash('sha256');
    for await (const c of res) hash.update(c as Buffer);
    return hash.digest('hex');
  }

  /** An object's bytes, or undefined when there is none. */
  async getBytes(key: string): Promise<Buffer | undefined> {
    const res = await this.#send('GET', key, { ok: [200, 404] });
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Keys (relative to the prefix) and sizes under `under`, all pages. */
  async list(
    under = '',
    pageSize?: number,
  ): Promise<Array<{ key: string; size: number }>> {
    const out: Array<{ key: string; size: number }> = [];
    const base = this.#full('');
    const strip = base ? base.length + 1 : 0;
    let token: string | undefined;
    do {
      const query: Record<string, string> = {
        'list-type': '2',
        prefix: this.#full(under),
      };
      if (token) query['continuation-token'] = token;
      if (pageSize) query['max-keys'] = String(pageSize);
      const xml = await readBody(await this.#send('GET', undefined, { query }));
      const keys = xmlText(xml, 'Key');
      const sizes = xmlText(xml, 'Size');
      keys.forEach((k, i) =>
        out.push({ key: k.slice(strip), size: Number(sizes[i]) }),
      );
      token =
        xmlText(xml, 'IsTruncated')[0] === 'true'
          ? xmlText(xml, 'NextContinuationToken')[0]
          : undefined;
    } while (token);
    return out;
  }

  async delete(key: string): Promise<void> {
    (await this.#send('DELETE', key, { ok: [200, 204] })).resume();
  }
}
