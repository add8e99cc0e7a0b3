import type { Row } from './types';

/**
 * The `attributes` table has ~80 rows per instance. Handing them to DuckDB
 * one value at a time cost more than everything else in a commit, so an
 * instance's rows travel as one string that DuckDB splits itself:
 * fields joined by US (0x1F), rows by RS (0x1E), in the order of
 * PACKED_ATTRIBUTE_FIELDS. An empty field is NULL, except `path`, where
 * empty means the top level.
 */
export const FIELD_SEPARATOR = '\x1f';
export const ROW_SEPARATOR = '\x1e';

/** The fields of a packed row, after the instance's two columns. */
export const PACKED_ATTRIBUTE_FIELDS = [
  'tag',
  'keyword',
  'vr',
  'path',
  'value',
  'value_num',
] as const;

/** One instance's `attributes` rows. */
export interface PackedAttributes {
  SOPInstanceUID: string | null;
  PatientID: string | null;
  rows: string;
}

const SEPARATORS = /[\x00\x1c-\x1f]/g;

/**
 * A value as a packed field: separators (and NUL, which no DICOM text
 * may hold) become U+FFFD so they cannot split a row.
 */
export function packedField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return SEPARATORS.test(text) ? text.replace(SEPARATORS, '\ufffd') : text;
}

/** Packs `attributes` rows (one or more instances) per instance. */
export function packAttributeRows(rows: readonly Row[]): PackedAttributes[] {
  const out = new Map<string, { head: Row; rows: string[] }>();
  for (const row of rows) {
    const key = `${row.SOPInstanceUID ?? ''}\0${row.PatientID ?? ''}`;
    let entry = out.get(key);
    if (!entry) out.set(key, (entry = { head: row, rows: [] }));
    entry.rows.push(
      PACKED_ATTRIBUTE_FIELDS.map((f) => packedField(row[f])).join(
        FIELD_SEPARATOR,
      ),
    );
  }
  return [...out.values()].map(({ head, rows: packed }) => ({
    SOPInstanceUID: (head.SOPInstanceUID as string | null) ?? null,
    PatientID: (head.PatientID as string | null) ?? null,
    rows: packed.join(ROW_SEPARATOR),
  }));
}

/** The rows of packed attributes, as DuckDB reads them on commit. */
export function unpackAttributes(packed: PackedAttributes): Row[] {
  if (!packed.rows) return [];
  return packed.rows.split(ROW_SEPARATOR).map((line) => {
    const f = line.split(FIELD_SEPARATOR);
    const empty = (s: string | undefined) => (s ? s : null);
    return {
      SOPInstanceUID: packed.SOPInstanceUID,
      PatientID: packed.PatientID,
      tag: f[0] ?? '',
      keyword: empty(f[1]),
      vr: f[2] ?? '',
      path: f[3] ?? '',
      value: empty(f[4]),
      value_num: f[5] ? Number(f[5]) : null,
    };
  });
}

/**
 * The SELECT that turns a staging table of packed attributes
 * (`SOPInstanceUID`, `PatientID`, `rows`) into `attributes` rows, in the
 * order they were packed.
 */
export function unpackAttributesSql(staging: string): string {
  const field = (i: number) => `f[${i + 1}]`;
  const cols = PACKED_ATTRIBUTE_FIELDS.map((name, i) => {
    if (name === 'path' || name === 'tag' || name === 'vr')
      return `${field(i)} AS "${name}"`;
    if (name === 'value_num')
      return `TRY_CAST(NULLIF(${field(i)}, '') AS DOUBLE) AS "${name}"`;
    return `NULLIF(${field(i)}, '') AS "${name}"`;
  });
  return `SELECT "SOPInstanceUID", "PatientID", ${cols.join(', ')}
    FROM (SELECT "SOPInstanceUID", "PatientID", string_split(r, chr(31)) AS f
      FROM (SELECT "SOPInstanceUID", "PatientID", unnest(string_split("rows", chr(30))) AS r
        FROM ${staging})
      WHERE r <> '')`;
}
