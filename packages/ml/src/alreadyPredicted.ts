import type { Catalog } from '@lpacs/lake';

/**
 * The SOP Instance UIDs (or, for a model that stacks series, the Series
 * Instance UIDs) a model, by SHA-256, has predictions for in the lake.
 */
export async function alreadyPredicted(
  catalog: Catalog,
  sha256: string,
  bySeries: boolean,
): Promise<Set<string>> {
  const column = bySeries ? 'SeriesInstanceUID' : 'SOPInstanceUID';
  const rows = await catalog.query(
    `SELECT DISTINCT "${column}" AS uid FROM predictions WHERE model_sha256 = ?`,
    [sha256],
  );
  return new Set(rows.map((r) => String(r.uid)));
}
