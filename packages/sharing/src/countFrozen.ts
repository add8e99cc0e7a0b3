import type { Catalog } from '@lpacs/lake';
import type { FrozenInstance, SavedCohort } from './types';

/** Study UIDs per lookup: well under DuckDB's limit on parameters. */
const CHUNK = 500;

/**
 * The counts of a frozen instance list. Studies, series and instances
 * come from the list; patients, which it does not name, from the lake's
 * `studies` table (a study belongs to one patient). `unplaced` counts the
 * list's studies the lake no longer holds, whose patients are not counted.
 */
export async function countFrozen(
  catalog: Catalog,
  instances: FrozenInstance[],
): Promise<{ counts: SavedCohort['counts']; unplaced: number }> {
  const studies = [...new Set(instances.map((i) => i.StudyInstanceUID))];
  const patients = new Set<string>();
  let placed = 0;
  for (let at = 0; at < studies.length; at += CHUNK) {
    const part = studies.slice(at, at + CHUNK);
    const rows = await catalog.query(
      `SELECT "StudyInstanceUID" AS study, any_value("PatientID") AS patient
       FROM studies WHERE "StudyInstanceUID" IN (${part.map(() => '?').join(', ')})
       GROUP BY 1`,
      part,
    );
    for (const r of rows) patients.add(String(r.patient));
    placed += rows.length;
  }
  return {
    counts: {
      patients: patients.size,
      studies: studies.length,
      series: new Set(instances.map((i) => i.SeriesInstanceUID)).size,
      instances: instances.length,
    },
    unplaced: studies.length - placed,
  };
}
