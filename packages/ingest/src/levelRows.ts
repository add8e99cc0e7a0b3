import { SCHEMAS } from '@lpacs/lake';
import type { BatchRows, PackedAttributes, Row, TableName } from '@lpacs/lake';

function project(table: TableName, rows: readonly Row[]): Row[] {
  const schema = SCHEMAS[table];
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = schema.key.map((k) => String(row[k] ?? '')).join('\0');
    byKey.set(
      key,
      Object.fromEntries(
        schema.columns.map((c) => [c.name, row[c.name] ?? null]),
      ),
    );
  }
  return [...byKey.values()];
}

/**
 * A batch's rows for every table, derived from its instance rows, with the
 * instances' `attributes` rows, packed per instance.
 */
export function levelRows(
  instances: readonly Row[],
  attributes: readonly PackedAttributes[] = [],
): BatchRows {
  return {
    instances: [...instances],
    packedAttributes: [...attributes],
    series: project('series', instances),
    studies: project('studies', instances),
    patients: project('patients', instances),
  };
}
