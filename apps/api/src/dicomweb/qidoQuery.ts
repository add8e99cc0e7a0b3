import { isKeyword, lookupTag } from '@lpacs/dicom';
import { DicomWebError, badParameter } from './DicomWebError';
import {
  DEFAULT_FIELDS,
  LEVEL_ATTRIBUTES,
  findAttribute,
} from './qidoAttributes';
import type { QidoAttribute, QidoLevel } from './qidoAttributes';

/** A QIDO-RS search turned into parameterised SQL. */
export interface QidoQuery {
  sql: string;
  params: Array<string | number>;
  fields: QidoAttribute[];
  limit: number;
  /** Warnings for the response's Warning header (PS3.18 8.3.4.5). */
  warnings: string[];
}

/** Most results one response carries; more are paged with offset. */
export const MAX_LIMIT = 1000;

const CONTROL = new Set(['limit', 'offset', 'includefield', 'fuzzymatching']);
const UID = /^[0-9]+(\.[0-9]+)*$/;
const DATE = /^(\d{4})(\d{2})(\d{2})$/;

const GROUP: Record<QidoLevel, string> = {
  study: '"StudyInstanceUID"',
  series: '"SeriesInstanceUID"',
  instance: '"SOPInstanceUID"',
};

const ORDER: Record<QidoLevel, string> = {
  study: 'min("StudyDate") NULLS LAST, "StudyInstanceUID"',
  series: 'min("SeriesNumber") NULLS LAST, "SeriesInstanceUID"',
  instance: 'min("InstanceNumber") NULLS LAST, "SOPInstanceUID"',
};

function values(text: string): string[] {
  return text.split(/[,\\]/).map((v) => v.trim());
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** `YYYYMMDD` to `YYYY-MM-DD`, refusing dates that do not exist. */
function isoDate(name: string, text: string): string {
  const m = DATE.exec(text);
  const iso = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
  const parsed = new Date(`${iso}T00:00:00Z`);
  if (
    !m ||
    Number.isNaN(parsed.getTime()) ||
    !parsed.toISOString().startsWith(iso)
  ) {
    throw badParameter(
      name,
      `"${text}" is not a date YYYYMMDD or a range of them`,
    );
  }
  return iso;
}

/** One matching key as a SQL condition on instance rows (PS3.4 C.2.2.2). */
function condition(
  name: string,
  attr: QidoAttribute,
  value: string,
): { sql: string; params: Array<string | number> } {
  if (attr.keyword === 'ModalitiesInStudy') {
    // A study matches when any of its series has one of the modalities;
    // the response still lists all of them.
    const list = values(value);
    return {
      sql: `"StudyInstanceUID" IN (SELECT "StudyInstanceUID" FROM i WHERE "Modality" IN (${placeholders(list.length)}))`,
      params: list,
    };
  }
  const column = attr.column;
  if (!column || attr.matching === 'none') {
    throw badParameter(
      name,
      `${attr.keyword} cannot be used as a matching key`,
    );
  }
  switch (attr.matching) {
    case 'uid': {
      const list = values(value);
      for (const uid of list) {
        if (!UID.test(uid) || uid.length > 64)
          throw badParameter(name, `"${uid.slice(0, 70)}" is not a UID`);
      }
      return {
        sql: `${column} IN (${placeholders(list.length)})`,
        params: list,
      };
    }
    case 'integer': {
      if (!/^-?\d{1,9}$/.test(value))
        throw badParameter(name, `"${value.slice(0, 20)}" is not an integer`);
      return { sql: `${column} = ?`, params: [Number(value)] };
    }
    case 'date': {
      const dash = value.indexOf('-');
      if (dash < 0) {
        return {
          sql: `${column} = CAST(? AS DATE)`,
          params: [isoDate(name, value)],
        };
      }
      const from = value.slice(0, dash);
      const to = value.slice(dash + 1);
      if (!from && !to)
        throw badParameter(name, 'a range needs at least one date');
      const parts: string[] = [];
      const params: string[] = [];
      if (from) {
        parts.push(`${column} >= CAST(? AS DATE)`);
        params.push(isoDate(name, from));
      }
      if (to) {
        parts.push(`${column} <= CAST(? AS DATE)`);
        params.push(isoDate(name, to));
      }
      return { sql: parts.join(' AND '), params };
    }
    case 'string': {
      if (/[*?]/.test(value)) {
        const pattern = value
          .replace(/[\\%_]/g, (c) => `\\${c}`)
          .replace(/\*/g, '%')
          .replace(/\?/g, '_');
        return { sql: `${column} LIKE ? ESCAPE '\\'`, params: [pattern] };
      }
      const list = values(value);
      return {
        sql: `${column} IN (${placeholders(list.length)})`,
        params: list,
      };
    }
  }
}

/** True for a PS3.6 keyword, or a tag `ggggeeee` the dictionary knows. */
function isAttribute(text: string): boolean {
  if (isKeyword(text)) return true;
  return (
    /^[0-9a-f]{8}$/i.test(text) && lookupTag(parseInt(text, 16)) !== undefined
  );
}

function count(name: string, text: string, max: number): number {
  if (!/^\d{1,9}$/.test(text))
    throw badParameter(name, `"${text.slice(0, 20)}" is not a whole number`);
  return Math.min(Number(text), max);
}

/**
 * Builds the SQL of a QIDO-RS search at a level (PS3.18 10.6): matching
 * keys by keyword or tag, `includefield` (a list, or `all`), `limit` and
 * `offset`; `fixed` holds the UIDs from the path.
 * @throws DicomWebError 400 naming an unknown key or a bad value.
 */
/**
 * A condition keeping only the SOP Instance UIDs in `scope`. They come
 * from release manifests and are checked to be UIDs, so they are written
 * into the SQL as literals (a list can hold many thousands).
 */
export function scopeClause(scope: readonly string[]): string {
  const uids = scope.filter((u) => /^[0-9.]{1,64}$/.test(u));
  return uids.length
    ? `"SOPInstanceUID" IN (${uids.map((u) => `'${u}'`).join(', ')})`
    : 'FALSE';
}

export function qidoQuery(
  level: QidoLevel,
  search: URLSearchParams,
  fixed: Record<string, string>,
  scope?: readonly string[],
): QidoQuery {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (scope) where.push(scopeClause(scope));
  const fieldNames = new Set(DEFAULT_FIELDS[level]);
  const warnings: string[] = [];
  for (const [keyword, uid] of Object.entries(fixed)) {
    where.push(`"${keyword}" = ?`);
    params.push(uid);
  }
  for (const [name, value] of search) {
    if (CONTROL.has(name)) continue;
    const attr = findAttribute(level, name);
    if (!attr) {
      throw badParameter(
        name,
        `not an attribute a ${level} query can match on`,
      );
    }
    fieldNames.add(attr.keyword);
    if (value === '') continue; // universal matching: return it (PS3.4 C.2.2.2.3)
    const c = condition(name, attr, value);
    where.push(c.sql);
    params.push(...c.params);
  }
  for (const include of search.getAll('includefield').flatMap(values)) {
    if (include.toLowerCase() === 'all') {
      for (const attr of LEVEL_ATTRIBUTES[level]) fieldNames.add(attr.keyword);
    } else {
      const attr = findAttribute(level, include);
      if (attr) fieldNames.add(attr.keyword);
      else if (isAttribute(include))
        // A real attribute the catalog does not hold: the answer goes on
        // without it, and says so.
        warnings.push(`includefield ${include.slice(0, 64)} is not available`);
      else
        throw badParameter(
          'includefield',
          `"${include.slice(0, 64)}" is neither a DICOM keyword nor a tag (PS3.6), nor "all"`,
        );
    }
  }
  const limitText = search.get('limit');
  const limit =
    limitText === null ? MAX_LIMIT : count('limit', limitText, MAX_LIMIT);
  // PS3.18 8.3.4.4.1: a response carries at most the server's maximum,
  // whatever the limit asked; the client is told it was cut down.
  if (limitText !== null && Number(limitText) > MAX_LIMIT)
    warnings.push(
      `limit ${limitText} is over this server's maximum: at most ${MAX_LIMIT} results per response`,
    );
  const offsetText = search.get('offset');
  const offset =
    offsetText === null
      ? 0
      : count('offset', offsetText, Number.MAX_SAFE_INTEGER);
  const fields = LEVEL_ATTRIBUTES[level]
    .filter((a) => fieldNames.has(a.keyword))
    .sort((a, b) => a.tag.localeCompare(b.tag));
  if (fields.length === 0) throw new DicomWebError(500, 'no fields to return');
  const sql = `WITH i AS (
      SELECT * FROM instances
      QUALIFY row_number() OVER (PARTITION BY "SOPInstanceUID" ORDER BY batch DESC) = 1)
    SELECT ${fields.map((f) => `${f.select} AS "${f.keyword}"`).join(', ')}
    FROM i ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    GROUP BY ${GROUP[level]} ORDER BY ${ORDER[level]} LIMIT ? OFFSET ?`;
  // One more row than asked tells whether results were cut off.
  params.push(limit + 1, offset);
  return { sql, params, fields, limit, warnings };
}
