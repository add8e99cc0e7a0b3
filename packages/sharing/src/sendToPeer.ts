import { randomBytes } from 'node:crypto';
import { readObject } from '@lpacs/lake';
import type { SyncItem } from './syncItems';

/** Where a sync stands, for a progress line. */
export interface SyncProgress {
  phase: 'checking' | 'sending';
  /** Objects answered so far in this phase. */
  done: number;
  total: number;
  bytesSent: number;
}

/** What a sync did; a rerun sends only what is still missing. */
export interface SyncReport {
  to: string;
  total: number;
  /** Stored by the peer in this run. */
  sent: number;
  /** Already in the peer's lake (same SHA-256). */
  alreadyPresent: number;
  /**
   * SHA-256 of the objects the peer keeps as another version of an
   * instance it holds under the same SOP Instance UID (a CONFLICT record
   * there names both): stored by this run, or by an earlier one and then
   * not sent again.
   */
  conflicts: string[];
  /** Refused by the peer, or unreadable here, with the reason's code. */
  failed: Array<{ sha256: string; code: string; message?: string }>;
  /** Not tried because the connection failed; a rerun sends them. */
  remaining: number;
  /** Why the run stopped early, when it did. */
  stopped: string | undefined;
  /**
   * The peer's HTTP status when its answer stopped the run (401: the
   * token was refused, 403: it lacks sync.receive); a rerun with the same
   * token cannot help then. Undefined for a lost connection.
   */
  stoppedStatus: number | undefined;
  /** Bytes of the objects in requests the peer answered, whatever it did with them. */
  bytesSent: number;
  /** Of those, the bytes of the objects it stored (`sent`). */
  bytesStored: number;
  /**
   * The peer's de-identification options (lake.json's `deidentification`,
   * the profile's options only), when its answer named them: an object it
   * refused "under this lake's options" was de-identified more widely
   * than those allow.
   */
  peerOptions?: Record<string, unknown>;
  seconds: number;
}

/** How to reach the peer. */
export interface PeerOptions {
  /** The peer's base URL, e.g. `https://lake-b.example.org:4000`. */
  url: string;
  /** A token of the peer with the sync.receive right. */
  token: string;
  onProgress?: (p: SyncProgress) => void;
  /** Objects per request (default 64); each request commits as a whole. */
  chunkObjects?: number;
  /** Bytes per request (default 32 MB). */
  chunkBytes?: number;
  /** Attempts per request after a network failure (default 3). */
  attempts?: number;
}

interface PartResult {
  sha256: string;
  outcome: 'stored' | 'present' | 'conflict' | 'refused' | 'corrupt';
  code?: string;
  /** The peer's reason (attributes named, never values). */
  message?: string;
}

/** A failed exchange with the peer, named without the token. */
class PeerError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    /** The peer's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

async function call(
  o: PeerOptions,
  path: string,
  init: { body: Buffer | string; type: string },
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${o.token}`,
        'content-type': init.type,
      },
      body: init.body,
    });
  } catch (err) {
    const cause = (
      err as {
        cause?: {
          code?: string;
          message?: string;
          cert?: { subjectaltname?: string };
        };
      }
    ).cause;
    // A certificate for another host: say which names it is for.
    const names =
      cause?.code === 'ERR_TLS_CERT_ALTNAME_INVALID' &&
      cause.cert?.subjectaltname
        ? ` (the certificate is for ${cause.cert.subjectaltname})`
        : '';
    throw new PeerError(
      `cannot reach ${o.url}: ${cause?.code ?? cause?.message ?? String(err)}${names}`,
      true,
    );
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new PeerError(`connection to ${o.url} dropped: ${String(err)}`, true);
  }
  if (res.status !== 200)
    throw new PeerError(
      `${o.url}${path} answered ${res.status}: ${text.trim().slice(0, 200)}`,
      res.status === 503,
      res.status,
    );
  return JSON.parse(text) as unknown;
}

async function withRetries<T>(o: PeerOptions, step: () => Promise<T>) {
  const attempts = o.attempts ?? 3;
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof PeerError) || !err.retry || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}

function multipart(
  parts: Array<{ item: SyncItem; bytes: Buffer }>,
  boundary: string,
): Buffer {
  const chunks: Buffer[] = [];
  for (const { item, bytes } of parts) {
    const age =
      item.ageYears === undefined
        ? ''
        : `x-lpacs-age-years: ${item.ageYears}\r\n`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${item.sha256}\r\n${age}\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/**
 * Sends de-identified objects to another lpacs (`POST /sync/have`, then
 * `POST /sync/objects` in chunks), only those its lake lacks by SHA-256:
 * neither one it holds nor one it keeps as a conflicting version is sent.
 * The peer commits each chunk before answering, so after a dropped
 * connection a rerun asks again and sends only the rest.
 */
export async function sendToPeer(
  lakeRoot: string,
  items: SyncItem[],
  o: PeerOptions,
): Promise<SyncReport> {
  const started = process.hrtime.bigint();
  const report: SyncReport = {
    to: o.url,
    total: items.length,
    sent: 0,
    alreadyPresent: 0,
    conflicts: [],
    failed: [],
    remaining: items.length,
    stopped: undefined,
    stoppedStatus: undefined,
    bytesSent: 0,
    bytesStored: 0,
    seconds: 0,
  };
  const stop = (err: unknown) => {
    report.stopped = (err as Error).message;
    if (err instanceof PeerError) report.stoppedStatus = err.status;
  };
  const finish = () => {
    report.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return report;
  };
  const progress = (
    phase: SyncProgress['phase'],
    done: number,
    total: number,
  ) => o.onProgress?.({ phase, done, total, bytesSent: report.bytesSent });
  const missing = new Set<string>();
  const conflicts = new Set<string>();
  try {
    for (let at = 0; at < items.length; at += 10_000) {
      const page = items.slice(at, at + 10_000).map((i) => i.sha256);
      const answer = (await withRetries(o, () =>
        call(o, '/sync/have', {
          body: JSON.stringify({ sha256: page }),
          type: 'application/json',
        }),
      )) as { missing: string[]; conflicts?: string[] };
      for (const s of answer.missing) missing.add(s);
      // A peer before conflicts were answered here sends none.
      for (const s of answer.conflicts ?? []) conflicts.add(s);
      progress('checking', at + page.length, items.length);
    }
  } catch (err) {
    stop(err);
    return finish();
  }
  const todo = items.filter((i) => missing.has(i.sha256));
  report.conflicts = items
    .filter((i) => conflicts.has(i.sha256))
    .map((i) => i.sha256);
  report.alreadyPresent = items.length - todo.length - report.conflicts.length;
  report.remaining = todo.length;
  const boundary = `lpacs-sync-${randomBytes(12).toString('hex')}`;
  let at = 0;
  while (at < todo.length) {
    const parts: Array<{ item: SyncItem; bytes: Buffer }> = [];
    let size = 0;
    while (
      at < todo.length &&
      parts.length < (o.chunkObjects ?? 64) &&
      (parts.length === 0 || size < (o.chunkBytes ?? 32e6))
    ) {
      const item = todo[at++]!;
      try {
        const bytes = await readObject(lakeRoot, item.objectKey);
        parts.push({ item, bytes });
        size += bytes.length;
      } catch {
        report.failed.push({ sha256: item.sha256, code: 'MISSING_LOCALLY' });
        report.remaining--;
      }
    }
    if (!parts.length) continue;
    let answer: { results: PartResult[]; options?: unknown };
    try {
      const body = multipart(parts, boundary);
      answer = (await withRetries(o, () =>
        call(o, '/sync/objects', {
          body,
          type: `multipart/related; type="application/dicom"; boundary=${boundary}`,
        }),
      )) as { results: PartResult[]; options?: unknown };
    } catch (err) {
      stop(err);
      return finish();
    }
    report.bytesSent += size;
    report.remaining -= parts.length;
    const sizes = new Map(parts.map((p) => [p.item.sha256, p.bytes.length]));
    // A peer before options were answered sends none.
    const options = answer.options;
    if (typeof options === 'object' && options && !Array.isArray(options))
      report.peerOptions = options as Record<string, unknown>;
    for (const r of answer.results) {
      if (r.outcome === 'stored') {
        report.sent++;
        report.bytesStored += sizes.get(r.sha256) ?? 0;
      } else if (r.outcome === 'present') report.alreadyPresent++;
      else if (r.outcome === 'conflict') report.conflicts.push(r.sha256);
      else
        report.failed.push({
          sha256: r.sha256,
          code: r.code ?? r.outcome.toUpperCase(),
          ...(typeof r.message === 'string' && { message: r.message }),
        });
    }
    progress('sending', todo.length - report.remaining, todo.length);
  }
  return finish();
}
