import type { InputFile } from './InputFile';
import { headerParam, parseMultipart } from './parseMultipart';

/** What to pull: QIDO-RS study matching keys (all optional, combined). */
export interface PullQuery {
  patientID?: string;
  studyInstanceUID?: string;
  /** A DICOM date range, `YYYYMMDD-YYYYMMDD` (either end may be empty). */
  studyDate?: string;
  modality?: string;
  /** Extra request headers, e.g. `authorization`. */
  headers?: Record<string, string>;
}

/** Where a pull stands, for progress output. */
export interface PullProgress {
  studies: number;
  studiesDone: number;
  series: number;
  instances: number;
}

type DicomJson = Record<string, { Value?: unknown[] }>;

const PAGE = 100;

function value(ds: DicomJson, tag: string): string | undefined {
  const v = ds[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * fetch, with a failure to connect named by the server and its cause
 * (fetch itself says only "fetch failed").
 */
async function fetchFrom(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } })
      .cause;
    throw new Error(
      `cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? String(err)}`,
    );
  }
}

/**
 * Whether Basic credentials went to a server whose 401 asks for a bearer
 * token (lpacs answers `WWW-Authenticate: Bearer`): the password is then
 * not wrong but of the wrong kind, and the message must say so.
 */
function basicWhereBearerWanted(
  headers: Record<string, string>,
  res: Response,
): boolean {
  const challenge = res.headers.get('www-authenticate') ?? '';
  return (
    /^basic /i.test(headers.authorization ?? '') && /^bearer\b/i.test(challenge)
  );
}

async function getJson(
  url: string,
  headers: Record<string, string>,
): Promise<DicomJson[]> {
  const res = await fetchFrom(url, {
    headers: { accept: 'application/dicom+json', ...headers },
  });
  if (res.status === 204) return [];
  if (res.status === 401 && basicWhereBearerWanted(headers, res))
    throw new Error(
      `QIDO-RS ${new URL(url).pathname} answered HTTP 401: the server asks for a bearer token (WWW-Authenticate: ${res.headers.get('www-authenticate')}), not the user name and password (--user) sent; give a token with --token instead (an lpacs server's DICOMweb takes one of its API tokens: lpacs tokens create USER on that lake)`,
    );
  if (!res.ok)
    throw new Error(
      `QIDO-RS ${new URL(url).pathname} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`,
    );
  return (await res.json()) as DicomJson[];
}

/**
 * Pulls instances from a DICOMweb server (QIDO-RS to find studies and
 * series, WADO-RS to retrieve each series) as ingest inputs. One series is
 * held in memory at a time. A series that cannot be retrieved becomes an
 * input with its error, so the report lists it and the pull goes on.
 */
export async function* pullDicomWeb(
  baseUrl: string,
  query: PullQuery,
  onProgress?: (p: PullProgress) => void,
): AsyncGenerator<InputFile> {
  const base = baseUrl.replace(/\/+$/, '');
  const headers = query.headers ?? {};
  const params = new URLSearchParams();
  if (query.patientID) params.set('PatientID', query.patientID);
  if (query.studyInstanceUID)
    params.set('StudyInstanceUID', query.studyInstanceUID);
  if (query.studyDate) params.set('StudyDate', query.studyDate);
  if (query.modality) params.set('ModalitiesInStudy', query.modality);
  const studies: string[] = [];
  for (let offset = 0; ; offset += PAGE) {
    params.set('limit', String(PAGE));
    params.set('offset', String(offset));
    const page = await getJson(`${base}/studies?${params}`, headers);
    for (const s of page) {
      const uid = value(s, '0020000D');
      if (uid) studies.push(uid);
    }
    if (page.length < PAGE) break;
  }
  const progress: PullProgress = {
    studies: studies.length,
    studiesDone: 0,
    series: 0,
    instances: 0,
  };
  onProgress?.(progress);
  for (const study of new Set(studies)) {
    const seriesList = await getJson(
      `${base}/studies/${study}/series`,
      headers,
    );
    for (const s of seriesList) {
      const series = value(s, '0020000E');
      // A study can mix modalities; keep only the asked-for series.
      if (!series) continue;
      if (query.modality && value(s, '00080060') !== query.modality) continue;
      const url = `${base}/studies/${study}/series/${series}`;
      progress.series++;
      let parts;
      try {
        const res = await fetchFrom(url, {
          headers: {
            accept: 'multipart/related; type="application/dicom"',
            ...headers,
          },
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const type = res.headers.get('content-type') ?? '';
        const boundary = headerParam(type, 'boundary');
        if (!boundary) throw new Error(`no multipart boundary in "${type}"`);
        parts = parseMultipart(Buffer.from(await res.arrayBuffer()), boundary);
      } catch (err) {
        yield {
          source: url,
          error: {
            code: 'RETRIEVE_FAILED',
            message: `WADO-RS retrieve failed: ${(err as Error).message}`,
          },
        };
        continue;
      }
      for (const [i, part] of parts.entries()) {
        progress.instances++;
        // A whole Buffer of its own, so the worker pool can move it.
        yield { source: `${url}#${i + 1}`, bytes: Buffer.from(part.body) };
      }
    }
    progress.studiesDone++;
    onProgress?.(progress);
  }
}
