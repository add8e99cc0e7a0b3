import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Catalog, Plain } from '@lpacs/lake';
import type { QidoAttribute, QidoLevel } from './qidoAttributes';
import { negotiateDicomJson } from './negotiate';
import { qidoQuery } from './qidoQuery';
import type { DicomJson, JsonAttribute } from './toDicomJson';

const NUMERIC = new Set(['IS', 'US', 'UL', 'SS', 'SL', 'DS']);

function jsonAttribute(
  attr: QidoAttribute,
  value: Plain | undefined,
): JsonAttribute {
  const out: JsonAttribute = { vr: attr.vr };
  if (value === null || value === undefined) return out;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return out;
  out.Value = list.map((v) => (NUMERIC.has(attr.vr) ? Number(v) : String(v)));
  return out;
}

/**
 * QIDO-RS (PS3.18 10.6): searches studies, series or instances in the
 * catalog and answers in the DICOM JSON model (`application/dicom+json`,
 * or `application/json` when the client prefers it).
 * @param fixed UIDs from the path, e.g. `{ StudyInstanceUID: '1.2.3' }`
 * @throws DicomWebError 406 when the Accept header takes neither.
 */
export async function qidoRs(
  req: IncomingMessage,
  res: ServerResponse,
  catalog: Catalog,
  level: QidoLevel,
  search: URLSearchParams,
  fixed: Record<string, string>,
  scope?: readonly string[],
): Promise<void> {
  const type = negotiateDicomJson(req.headers.accept);
  const query = qidoQuery(level, search, fixed, scope);
  const rows = await catalog.query(query.sql, query.params);
  const warnings = [...query.warnings];
  if (rows.length > query.limit) {
    warnings.push('more results match: ask again with offset');
  }
  const body = rows.slice(0, query.limit).map((row) => {
    const item: DicomJson = {};
    for (const field of query.fields) {
      item[field.tag] = jsonAttribute(field, row[field.keyword]);
    }
    return item;
  });
  const headers: Record<string, string> = {
    'content-type': type,
  };
  if (warnings.length) {
    headers.warning = warnings.map((w) => `299 lpacs "${w}"`).join(', ');
  }
  res.writeHead(200, headers).end(JSON.stringify(body));
}
