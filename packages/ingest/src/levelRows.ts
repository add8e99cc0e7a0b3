import { SCHEMAS } from '@lpacs/lake';
import type { BatchRows, Row, TableName } from '@lpacs/lake';

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

/** A batch's rows for every table, derived from its instance rows. */
export function levelRows(instances: readonly Row[]): BatchRows {
  return {
    instances: [...instances],
    series: project('series', instances),
    studies: project('studies', instances),
    patients: project('patients', instances),
  };
}
