import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Catalog, Logger } from '@lpacs/lake';
import { DicomWebError, sendError } from './DicomWebError';
import type { RenderedCache } from './RenderedCache';
import { qidoRs } from './qidoRs';
import type { QidoLevel } from './qidoAttributes';
import { wadoRs } from './wadoRs';
import type { WadoTarget } from './wadoRs';

/** What the DICOMweb read routes need from the server. */
export interface DicomWebContext {
  catalog: Catalog;
  lake: string;
  logger: Logger;
  /**
   * When set, the only SOP Instance UIDs the caller may see (a
   * collaborator's approved releases); everything else is answered as if
   * it were not in the lake.
   */
  scope?: readonly string[];
  /** Rendered thumbnails and masks, kept across requests. */
  images?: RenderedCache;
}

type Route =
  | { kind: 'qido'; level: QidoLevel; fixed: Record<string, string> }
  | {
      kind: 'wado';
      path: { study: string; series?: string; instance?: string };
      target: WadoTarget;
    };

const UID = /^[0-9]+(\.[0-9]+)*$/;

function uid(segment: string, what: string): string {
  if (!UID.test(segment) || segment.length > 64) {
    throw new DicomWebError(
      400,
      `the path's ${what} "${segment.slice(0, 70)}" is not a UID`,
    );
  }
  return segment;
}

/** Matches `/dicomweb/...` paths to QIDO-RS and WADO-RS resources. */
function route(segments: string[]): Route | undefined {
  const [root, s, a, se, b, i, c, list, d, ...rest] = segments;
  if (rest.length) return undefined;
  if (root === 'series' && !s)
    return { kind: 'qido', level: 'series', fixed: {} };
  if (root === 'instances' && !s)
    return { kind: 'qido', level: 'instance', fixed: {} };
  if (root !== 'studies') return undefined;
  if (s === undefined) return { kind: 'qido', level: 'study', fixed: {} };
  const study = uid(s, 'StudyInstanceUID');
  const inStudy = { StudyInstanceUID: study };
  if (a === undefined)
    return { kind: 'wado', path: { study }, target: { kind: 'instances' } };
  if (a === 'metadata' && !se)
    return { kind: 'wado', path: { study }, target: { kind: 'metadata' } };
  if (a === 'instances' && !se)
    return { kind: 'qido', level: 'instance', fixed: inStudy };
  if (a !== 'series') return undefined;
  if (se === undefined)
    return { kind: 'qido', level: 'series', fixed: inStudy };
  const series = uid(se, 'SeriesInstanceUID');
  const seriesPath = { study, series };
  if (b === undefined)
    return { kind: 'wado', path: seriesPath, target: { kind: 'instances' } };
  if (b === 'metadata' && !i)
    return { kind: 'wado', path: seriesPath, target: { kind: 'metadata' } };
  if (b === 'thumbnail' && !i)
    return { kind: 'wado', path: seriesPath, target: { kind: 'thumbnail' } };
  if (b !== 'instances') return undefined;
  if (i === undefined)
    return {
      kind: 'qido',
      level: 'instance',
      fixed: { ...inStudy, SeriesInstanceUID: series },
    };
  const path = { ...seriesPath, instance: uid(i, 'SOPInstanceUID') };
  if (c === undefined)
    return { kind: 'wado', path, target: { kind: 'instances' } };
  if (c === 'metadata' && !list)
    return { kind: 'wado', path, target: { kind: 'metadata' } };
  if (c === 'rendered' && !list)
    return { kind: 'wado', path, target: { kind: 'rendered' } };
  if (c !== 'frames' || !list) return undefined;
  if (d === undefined)
    return { kind: 'wado', path, target: { kind: 'frames', frames: list } };
  if (d === 'rendered')
    return { kind: 'wado', path, target: { kind: 'rendered', frames: list } };
  if (d === 'mask')
    return { kind: 'wado', path, target: { kind: 'mask', frames: list } };
  return undefined;
}

/**
 * Answers DICOMweb reads, QIDO-RS and WADO-RS (PS3.18 10.4, 10.6), under
 * `/dicomweb/`.
 * @returns false when the request is not one of them (left to others).
 */
export async function dicomWeb(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: DicomWebContext,
): Promise<boolean> {
  if (!url.pathname.startsWith('/dicomweb/')) return false;
  if (req.method !== 'GET') return false;
  const segments = url.pathname.slice('/dicomweb/'.length).split('/');
  if (segments[segments.length - 1] === '') segments.pop();
  try {
    const found = route(segments.map(decodeURIComponent));
    if (!found)
      throw new DicomWebError(
        404,
        `no DICOMweb resource at ${url.pathname.slice(0, 200)}`,
      );
    if (found.kind === 'qido') {
      await qidoRs(
        req,
        res,
        ctx.catalog,
        found.level,
        url.searchParams,
        found.fixed,
        ctx.scope,
      );
    } else {
      await wadoRs(req, res, ctx, found.path, found.target, url.searchParams);
    }
  } catch (err) {
    if (err instanceof DicomWebError) {
      if (err.status >= 500)
        ctx.logger.error({ err: err.message }, 'dicomweb request failed');
      sendError(res, err.status, err.message);
    } else {
      ctx.logger.error({ err: String(err) }, 'dicomweb request failed');
      sendError(res, 500, 'internal error (see the server log)');
    }
  }
  return true;
}
