import type { Catalog } from '@lpacs/lake';
import type { ReleaseDeidentification } from './types';

/**
 * What de-identification did to a release's instances, read from the lake
 * rather than assumed: the method text and CID 7050 codes each object
 * carries (0012,0063-0064; the profile, the table edition and every option
 * applied, Clean Pixel Data included) and the per-action counts recorded
 * at ingest (`instances.deid_actions`), summed. Counts only, no values.
 * @param chosen a SQL relation of the release's instances (`sop` column).
 */
export async function releaseDeidentification(
  catalog: Catalog,
  chosen: string,
  options: unknown,
): Promise<ReleaseDeidentification> {
  const inRelease = `JOIN ${chosen} c ON a."SOPInstanceUID" = c.sop`;
  const methods = await catalog.query(
    `SELECT a.value AS value, count(DISTINCT a."SOPInstanceUID") AS n FROM attributes a ${inRelease} WHERE a.tag = '00120063' AND a.path = '' GROUP BY 1 ORDER BY 1`,
  );
  const codes = await catalog.query(
    `SELECT a.value AS code, min(m.value) AS meaning, count(DISTINCT a."SOPInstanceUID") AS n FROM attributes a ${inRelease} LEFT JOIN attributes m ON m."SOPInstanceUID" = a."SOPInstanceUID" AND m.path = replace(a.path, '.00080100', '.00080104') AND m.tag = '00080104' WHERE a.tag = '00080100' AND a.path LIKE '00120064[%' GROUP BY 1 ORDER BY 1`,
  );
  // Lakes ingested before the counts have no such column at all.
  const columns = await catalog.query('DESCRIBE instances');
  const recorded = columns.some((c) => c.column_name === 'deid_actions');
  // Instances with the same counts (a series, usually) share one row.
  const counted = !recorded
    ? []
    : await catalog.query(
        `SELECT i.deid_actions AS actions, count(*) AS n FROM instances i JOIN ${chosen} c ON i."SOPInstanceUID" = c.sop WHERE i.deid_actions IS NOT NULL GROUP BY 1`,
      );
  const actions: Record<string, number> = {};
  let instancesCounted = 0;
  for (const row of counted) {
    const n = Number(row.n);
    instancesCounted += n;
    const parsed = JSON.parse(String(row.actions)) as Record<string, number>;
    for (const [action, count] of Object.entries(parsed))
      actions[action] = (actions[action] ?? 0) + count * n;
  }
  return {
    options,
    methods: methods.map((r) => ({
      value: String(r.value),
      instances: Number(r.n),
    })),
    methodCodes: codes.map((r) => ({
      code: String(r.code),
      meaning: String(r.meaning ?? ''),
      instances: Number(r.n),
    })),
    actions: Object.fromEntries(
      Object.entries(actions).sort(([a], [b]) => a.localeCompare(b)),
    ),
    instancesCounted,
  };
}
