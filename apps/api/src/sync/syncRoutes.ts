import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Action } from '@lpacs/access';
import type { DeidOptions } from '@lpacs/deid';
import type {
  FileOutcome,
  IngestSession,
  InputFile,
  Verdict,
} from '@lpacs/ingest';
import { conflictObjectKeys, headerParam, parseMultipart } from '@lpacs/ingest';
import { Lake, LakeLayout } from '@lpacs/lake';
import type { Catalog, Logger } from '@lpacs/lake';
import type { Gate } from '../access/Gate';
import { allowRoute } from '../access/allowRoute';
import { readBody, readBodyBuffer } from '../http/readBody';

/** What became of one synced object on the receiving side. */
export type SyncOutcome =
  'stored' | 'present' | 'conflict' | 'refused' | 'corrupt';

/** The most SHA-256 values one `POST /sync/have` may ask about. */
export const MAX_HAVE = 10_000;

const SHA256 = /^[0-9a-f]{64}$/;

/** What the sync routes need from the server. */
export interface SyncContext {
  lakeRoot: string;
  catalog: Catalog;
  ingestSession: () => Promise<IngestSession>;
  logger: Logger;
  maxBytes: number;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify(body));
}

/**
 * Of these SHA-256 values (none an instance's), the ones the lake keeps
 * as the other version of a CONFLICT: an object, and the record that
 * names it. Only values whose object exists are looked up in the records,
 * so a lake without conflicts pays one stat per value.
 */
async function keptAsConflicts(
  lakeRoot: string,
  sha256s: string[],
): Promise<Set<string>> {
  const layout = new LakeLayout(lakeRoot);
  const key = (sha: string) => layout.objectKey(sha);
  const stored = sha256s.filter((s) => existsSync(join(lakeRoot, key(s))));
  if (!stored.length) return new Set();
  const lake = await Lake.open(lakeRoot, undefined, 'read');
  try {
    const kept = await conflictObjectKeys(lake);
    return new Set(stored.filter((s) => kept.has(key(s))));
  } finally {
    lake.close();
  }
}

/**
 * The profile options an object must not exceed (the session's, as it
 * verified the objects): the sender names them beside its own when it
 * reports objects refused "under this lake's options". Blanking rules
 * and accepted kinds are left out (they are this site's).
 */
function profileOptions(options: DeidOptions): Record<string, unknown> {
  const { blanking: _b, acceptUnmarked: _a, ...profile } = options;
  return profile;
}

/**
 * `POST /sync/have`: of these SHA-256 values, the ones the lake lacks
 * (`missing`), and the ones it keeps as another version of an instance
 * it holds under the same SOP Instance UID (`conflicts`): sending those
 * again would change nothing.
 */
async function have(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SyncContext,
): Promise<void> {
  let asked: unknown;
  try {
    asked = (
      JSON.parse(await readBody(req, 100 + MAX_HAVE * 70)) as {
        sha256?: unknown;
      }
    ).sha256;
  } catch (err) {
    if ((err as { status?: number }).status) throw err;
    json(res, 400, { error: 'the body is not JSON like {"sha256": [...]}' });
    return;
  }
  if (!Array.isArray(asked) || asked.length > MAX_HAVE) {
    json(res, 400, {
      error: `"sha256" must be a list of at most ${MAX_HAVE} values`,
    });
    return;
  }
  const bad = asked.find((s) => typeof s !== 'string' || !SHA256.test(s));
  if (bad !== undefined) {
    json(res, 400, {
      error: `not a lower-case hex SHA-256: ${JSON.stringify(bad).slice(0, 80)}`,
    });
    return;
  }
  const wanted = asked as string[];
  const rows = wanted.length
    ? await ctx.catalog.query(
        `SELECT DISTINCT sha256 FROM instances
          WHERE sha256 IN (SELECT unnest(string_split(?, ',')))`,
        [wanted.join(',')],
      )
    : [];
  const present = new Set(rows.map((r) => String(r.sha256)));
  const absent = wanted.filter((s) => !present.has(s));
  const conflicts = await keptAsConflicts(ctx.lakeRoot, absent);
  json(res, 200, {
    missing: absent.filter((s) => !conflicts.has(s)),
    conflicts: absent.filter((s) => conflicts.has(s)),
  });
}

/**
 * `POST /sync/objects`: a multipart/related body of de-identified objects,
 * each part naming its SHA-256 in `x-lpacs-sha256` (and the sender's age
 * at study in `x-lpacs-age-years`). A part whose bytes do not hash to
 * its name is not stored. The rest go through the ingest pipeline as one
 * run, stored as received (see acceptDeidentified), and are committed
 * before the answer: a dropped connection loses at most this request.
 * The answer: `results`, one per part, and `options`, this lake's
 * de-identification profile options.
 */
async function objects(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SyncContext,
  gate: Gate,
): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  const boundary = headerParam(type, 'boundary');
  if (!/^multipart\/related/i.test(type) || !boundary) {
    json(res, 415, {
      error: 'Content-Type must be multipart/related with a boundary',
    });
    return;
  }
  let parts;
  try {
    parts = parseMultipart(await readBodyBuffer(req, ctx.maxBytes), boundary);
  } catch (err) {
    const status = (err as { status?: number }).status;
    json(res, status ?? 400, {
      error: `cannot read the multipart body: ${(err as Error).message}`,
    });
    return;
  }
  const results: Array<{
    sha256: string;
    outcome: SyncOutcome;
    code?: string;
    /** Why it was refused: attributes named, never values. */
    message?: string;
  }> = [];
  const inputs: InputFile[] = [];
  for (const part of parts) {
    const named = part.headers['x-lpacs-sha256'] ?? '';
    if (!SHA256.test(named)) {
      json(res, 400, {
        error: `part ${results.length + inputs.length + 1} has no x-lpacs-sha256 header`,
      });
      return;
    }
    const actual = createHash('sha256').update(part.body).digest('hex');
    if (actual !== named) {
      results.push({
        sha256: named,
        outcome: 'corrupt',
        code: 'SHA256_MISMATCH',
      });
      continue;
    }
    const age = part.headers['x-lpacs-age-years'];
    inputs.push({
      source: `sync:${named}`,
      bytes: Buffer.from(part.body),
      deidentified:
        age && /^\d{1,3}$/.test(age) ? { ageYears: Number(age) } : {},
    });
  }
  const verdicts: Record<Verdict, SyncOutcome> = {
    ingested: 'stored',
    skipped: 'present',
    conflict: 'conflict',
    quarantined: 'refused',
  };
  const onOutcome = (o: FileOutcome, verdict: Verdict) =>
    results.push({
      sha256: o.source.slice('sync:'.length),
      outcome: verdicts[verdict],
      ...(o.kind === 'quarantined' ? { code: o.code, message: o.message } : {}),
    });
  // Another writer of the lake committed the object first.
  const onRevised = (o: FileOutcome, verdict: Verdict) => {
    const sha256 = o.source.slice('sync:'.length);
    const r = results.find((x) => x.sha256 === sha256);
    if (r) r.outcome = verdicts[verdict];
  };
  let session: IngestSession | undefined;
  if (inputs.length) {
    try {
      session = await ctx.ingestSession();
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code !== 'LAKE_BUSY') throw err;
      json(res, 503, { error: e.message });
      return;
    }
    await session.run(inputs, { onOutcome, onRevised });
  }
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  await gate.record(Action.SyncReceive, 'ok', undefined, counts);
  ctx.logger.info({ parts: parts.length, ...counts }, 'sync objects');
  json(res, 200, {
    results,
    ...(session ? { options: profileOptions(session.options) } : {}),
  });
}

/**
 * The receiving side of `lpacs sync`, for callers allowed sync.receive.
 * Returns false for paths it does not serve.
 */
export async function syncRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  gate: Gate,
  ctx: SyncContext,
): Promise<boolean> {
  const route =
    path === '/sync/have'
      ? have
      : path === '/sync/objects'
        ? objects
        : undefined;
  if (!route) return false;
  if (req.method !== 'POST') {
    res
      .writeHead(405, { 'content-type': 'text/plain', allow: 'POST' })
      .end('POST only\n');
    return true;
  }
  if (!(await allowRoute(gate, Action.SyncReceive, res))) return true;
  await route(req, res, ctx, gate);
  return true;
}
