import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  FileOutcome,
  IngestReport,
  IngestSession,
  InputFile,
  Verdict,
} from '@lpacs/ingest';
import type { Catalog, Logger } from '@lpacs/lake';
import { readBodyBuffer } from '../http/readBody';
import { headerParam, parseMultipart } from '@lpacs/ingest';
import { DicomWebError, sendError } from './DicomWebError';
import { negotiateDicomJson } from './negotiate';
import { sopUidsAsSent, studyUidAsSent } from './sopUidsAsSent';
import type { SopUids } from './sopUidsAsSent';

/** PS3.4 status codes used in STOW-RS responses (PS3.18 10.5.3). */
const Status = {
  /** Coercion of data elements: every stored instance was de-identified. */
  Coerced: 0xb000,
  /** Processing failure: the part could not be read as DICOM. */
  CannotUnderstand: 0xc000,
  /** The SOP Instance UID is stored with other content. */
  Duplicate: 0x0111,
  /**
   * The instance is not of the study the URL names (PS3.18 Table 10.5.1-1:
   * /studies/{study} stores representations of that study only). Table
   * I.2-2 has no code of its own for it and leaves further codes to the
   * conformance statement: C409 is in its Cxxx range, as dcm4chee-arc
   * answers it.
   */
  OtherStudy: 0xc409,
} as const;

/**
 * One part's item. Its SOP Class and Instance UIDs are the part's as sent,
 * whatever became of it: the sender knows no others. The lake's own
 * (de-identified) UIDs appear only in the RetrieveURL of a stored one.
 */
interface ItemResult extends SopUids {
  /** The part's input source, which names it across revisions. */
  source: string;
  status?: number;
  reason?: string;
  /** Where WADO-RS retrieves a stored instance; '' when not known here. */
  retrieveURL?: string;
  /** The lake's UIDs of a stored instance (study and series when known). */
  held?: { sop: string; study?: string; series?: string };
}

/**
 * What became of one STOW-RS request, for its audit entry: counts, the
 * lake's batch ids and codes, never a file name, UID or value. Filled as
 * the request goes, so a request that fails midway still says how far
 * it got.
 */
export interface StowTally {
  /** Parts of the multipart body (0 when the body was not read). */
  parts: number;
  /** Instances committed to the lake (in `batches`). */
  ingested: number;
  /** Parts the lake already held with the same content. */
  skipped: number;
  quarantined: number;
  /** Parts whose SOP Instance UID the lake holds with other content. */
  conflicts: number;
  /** Parts refused as not of the study the URL names (none without one). */
  outsideStudy: number;
  /** Ids of the batches committed, in order. */
  batches: string[];
  /** The HTTP status answered (unset when the request failed unanswered). */
  status?: number;
  /** Why the request did not run to its end: a code, no message. */
  error?: string;
}

/** A tally of nothing yet. */
export function newStowTally(): StowTally {
  return {
    parts: 0,
    ingested: 0,
    skipped: 0,
    quarantined: 0,
    conflicts: 0,
    outsideStudy: 0,
    batches: [],
  };
}

/** A thrown value's code when it is a plain code (ENOSPC), else `fallback`. */
function codeOf(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)
    ? code
    : fallback;
}

/** What STOW-RS needs from the server. */
export interface StowContext {
  session: () => Promise<IngestSession>;
  /** Where the study and series of an instance the lake held are found. */
  catalog: Catalog;
  logger: Logger;
  maxBytes: number;
  /** The server's own URL, e.g. http://127.0.0.1:4000, for RetrieveURL. */
  baseUrl: string;
  /** Filled with what became of the request, for its audit entry. */
  tally: StowTally;
  /**
   * The study of `POST /dicomweb/studies/{study}`: its UID as the sender
   * knows it (as sent, the original), never the lake's de-identified one.
   */
  study?: string;
}

type JsonAttribute = { vr: string; Value?: unknown[] };

/**
 * A comment cut to an LO's 64 characters (PS3.5 6.2) after a whole word:
 * a word cut in half can say something else.
 */
function fitLO(text: string): string {
  if (text.length <= 64) return text;
  const cut = text.slice(0, 64);
  const space = cut.lastIndexOf(' ');
  return (space > 0 ? cut.slice(0, space) : cut).replace(/[\s,;:(]+$/, '');
}

function sopItem(
  r: ItemResult,
  statusTag: string,
): Record<string, JsonAttribute> {
  const item: Record<string, JsonAttribute> = {};
  if (r.sopClassUID) item['00081150'] = { vr: 'UI', Value: [r.sopClassUID] };
  if (r.sopInstanceUID)
    item['00081155'] = { vr: 'UI', Value: [r.sopInstanceUID] };
  // RetrieveURL (0008,1190) is type 2 in a stored item: present, empty
  // when the lake cannot say where (it always can, short of a failure).
  if (r.retrieveURL !== undefined)
    item['00081190'] = r.retrieveURL
      ? { vr: 'UR', Value: [r.retrieveURL] }
      : { vr: 'UR' };
  if (r.status !== undefined) item[statusTag] = { vr: 'US', Value: [r.status] };
  // ErrorComment (0000,0902): why, in words and codes, never values (no PHI).
  if (r.reason) item['00000902'] = { vr: 'LO', Value: [fitLO(r.reason)] };
  return item;
}

/** A response in the DICOM JSON model, as the client's Accept allows. */
function send(
  res: ServerResponse,
  type: string,
  status: number,
  body: unknown,
): void {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
}

/**
 * Study and series of the instances named, as the lake holds them: an
 * instance the lake already held has no row of this request.
 */
async function heldPlaces(
  catalog: Catalog,
  sops: string[],
  logger: Logger,
): Promise<Map<string, { study: string; series: string }>> {
  if (!sops.length) return new Map();
  let rows;
  try {
    rows = await catalog.query(
      `SELECT "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"
       FROM instances
      WHERE "SOPInstanceUID" IN (SELECT unnest(string_split(?, ',')))
     QUALIFY row_number() OVER (PARTITION BY "SOPInstanceUID" ORDER BY batch DESC) = 1`,
      [sops.join(',')],
    );
  } catch (err) {
    // RetrieveURL is type 2: empty when it cannot be said.
    logger.warn({ err: (err as Error).message }, 'STOW-RS: no RetrieveURL');
    return new Map();
  }
  return new Map(
    rows.map((r) => [
      String(r.SOPInstanceUID),
      {
        study: String(r.StudyInstanceUID),
        series: String(r.SeriesInstanceUID),
      },
    ]),
  );
}

/**
 * STOW-RS (PS3.18 10.5): `POST /dicomweb/studies` with a
 * multipart/related body of application/dicom parts. Every part goes
 * through the same de-identification and lake commit as `lpacs ingest`;
 * the response names each part by the UIDs it was sent with, says what
 * was stored (with the RetrieveURL of its de-identified instance) and
 * what failed and why.
 */
export async function stowRs(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: StowContext,
): Promise<void> {
  const { baseUrl, logger, tally } = ctx;
  /** Answers a request refused before any ingest, tallied with its code. */
  const refuse = (status: number, code: string, message: string): void => {
    tally.error = code;
    tally.status = status;
    sendError(res, status, message);
  };
  // What the response can be sent as is settled before anything is read
  // or stored: a client that takes no DICOM JSON is told so (406) with
  // nothing stored.
  let json: string;
  try {
    json = negotiateDicomJson(req.headers.accept);
  } catch (err) {
    if (!(err instanceof DicomWebError)) throw err;
    const code = err.status === 406 ? 'NOT_ACCEPTABLE' : 'BAD_REQUEST';
    return refuse(err.status, code, err.message);
  }
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/related/i.test(type)) {
    return refuse(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be multipart/related; type="application/dicom", got "${type.slice(0, 80)}"`,
    );
  }
  const partType = headerParam(type, 'type');
  if (partType && partType.toLowerCase() !== 'application/dicom') {
    return refuse(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `only application/dicom parts are accepted, got type="${partType.slice(0, 60)}"`,
    );
  }
  const boundary = headerParam(type, 'boundary');
  if (!boundary) {
    return refuse(
      400,
      'BAD_MULTIPART',
      'the multipart/related Content-Type has no boundary parameter',
    );
  }
  let parts;
  try {
    parts = parseMultipart(await readBodyBuffer(req, ctx.maxBytes), boundary);
  } catch (err) {
    const status = (err as { status?: number }).status ?? 400;
    return refuse(
      status,
      status === 413 ? 'TOO_LARGE' : 'BAD_MULTIPART',
      `cannot read the multipart body: ${(err as Error).message}`,
    );
  }
  tally.parts = parts.length;
  if (!parts.length) {
    return refuse(
      400,
      'BAD_MULTIPART',
      'the multipart body holds no part: nothing to store',
    );
  }
  const stamp = Date.now().toString(36);
  const stored: ItemResult[] = [];
  const failed: ItemResult[] = [];
  const all: InputFile[] = parts.map((p, i) => ({
    source: `stow:${stamp}#${i + 1}`,
    bytes: Buffer.from(p.body),
  }));
  // The parts as received: ingest hands each input's own buffer to a
  // worker thread, which leaves it empty here.
  const sent = new Map(all.map((input, i) => [input.source, parts[i]!]));
  const asSent = (source: string): SopUids => {
    const part = sent.get(source);
    return part ? sopUidsAsSent(part.body) : {};
  };
  // A part of another study (or of none) than the URL names is refused
  // before ingest sees it: nothing of it is stored. One that is not DICOM
  // at all goes on, for ingest to say so.
  const inputs = all.filter((input) => {
    if (ctx.study === undefined) return true;
    const study = studyUidAsSent(sent.get(input.source)!.body);
    if (study === null || study === ctx.study) return true;
    failed.push({
      source: input.source,
      ...asSent(input.source),
      status: Status.OtherStudy,
      reason:
        study === undefined
          ? 'OTHER_STUDY: it has no Study Instance UID'
          : 'OTHER_STUDY: not of the study the URL names',
    });
    tally.outsideStudy++;
    return false;
  });
  // Each part's verdict as it stands (a commit may revise it).
  const verdicts = new Map<string, Verdict>();
  const count = () => {
    const n = (v: Verdict) =>
      [...verdicts.values()].filter((x) => x === v).length;
    tally.skipped = n('skipped');
    tally.quarantined = n('quarantined');
    tally.conflicts = n('conflict');
  };
  const onOutcome = (o: FileOutcome, verdict: Verdict) => {
    verdicts.set(o.source, verdict);
    const item = { source: o.source, ...asSent(o.source) };
    if (o.kind === 'quarantined')
      failed.push({
        ...item,
        status: Status.CannotUnderstand,
        reason: `${o.code}: ${o.message}`,
      });
    else if (verdict === 'conflict')
      failed.push({
        ...item,
        status: Status.Duplicate,
        reason: 'CONFLICT: stored with other content',
      });
    else {
      const row = o.kind === 'ingested' ? o.row : undefined;
      const study = row?.StudyInstanceUID;
      const series = row?.SeriesInstanceUID;
      stored.push({
        ...item,
        status: Status.Coerced,
        held: {
          sop: o.sopInstanceUID,
          ...(typeof study === 'string' ? { study } : {}),
          ...(typeof series === 'string' ? { series } : {}),
        },
      });
    }
  };
  // Another writer of the lake committed the instance first: a conflict
  // after all is answered as one.
  const onRevised = (o: FileOutcome, verdict: Verdict) => {
    if (verdict !== 'conflict' || o.kind === 'quarantined') return;
    const at = stored.findIndex((r) => r.source === o.source);
    if (at >= 0) stored.splice(at, 1);
    onOutcome(o, verdict);
  };
  // Instances count as ingested once their batch is committed.
  const onCommitted = (batchId: string, instances: number) => {
    tally.batches.push(batchId);
    tally.ingested += instances;
  };
  let open: IngestSession;
  if (!inputs.length) {
    tally.status = 409;
    send(res, json, tally.status, {
      '00081190': { vr: 'UR' },
      '00081198': {
        vr: 'SQ',
        Value: failed.map((r) => sopItem(r, '00081197')),
      },
    });
    return;
  }
  try {
    open = await ctx.session();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    tally.error = codeOf(err, 'INGEST_UNAVAILABLE');
    if (e.code !== 'LAKE_BUSY') throw err;
    return refuse(503, tally.error, e.message ?? 'the lake is busy');
  }
  let report: IngestReport;
  try {
    report = await open.run(inputs, { onOutcome, onRevised, onCommitted });
  } catch (err) {
    // What was judged and committed before the failure stays counted.
    tally.error = codeOf(err, 'INGEST_FAILED');
    throw err;
  } finally {
    count();
  }
  // An instance the lake already held (the same content sent again) is
  // retrieved where the lake holds it.
  const places = await heldPlaces(
    ctx.catalog,
    stored.flatMap((r) => (r.held && !r.held.series ? [r.held.sop] : [])),
    logger,
  );
  for (const r of stored) {
    const held = r.held!;
    const place =
      held.study && held.series
        ? { study: held.study, series: held.series }
        : places.get(held.sop);
    if (place) held.study = place.study;
    r.retrieveURL = place
      ? `${baseUrl}/dicomweb/studies/${place.study}/series/${place.series}/instances/${held.sop}`
      : '';
  }
  logger.info(
    {
      parts: parts.length,
      stored: stored.length,
      failed: failed.length,
      batches: report.batches.length,
    },
    'STOW-RS',
  );
  const body: Record<string, JsonAttribute> = {};
  // The study's RetrieveURL (type 2): when everything stored is of one.
  const studies = new Set(stored.map((r) => r.held?.study));
  const [study] = studies;
  body['00081190'] =
    studies.size === 1 && study
      ? { vr: 'UR', Value: [`${baseUrl}/dicomweb/studies/${study}`] }
      : { vr: 'UR' };
  if (stored.length)
    body['00081199'] = {
      vr: 'SQ',
      Value: stored.map((r) => sopItem(r, '00081196')),
    };
  if (failed.length)
    body['00081198'] = {
      vr: 'SQ',
      Value: failed.map((r) => sopItem(r, '00081197')),
    };
  tally.status = failed.length === 0 ? 200 : stored.length ? 202 : 409;
  send(res, json, tally.status, body);
}
