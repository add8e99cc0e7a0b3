/**
 * The instances a retention cutoff selects: ingested before `cutoff` (an
 * ISO instant), of `modalities` only when any are given.
 */
export function retentionWhere(
  cutoff: string,
  modalities: readonly string[],
): { sql: string; params: string[] } {
  const only = modalities.length
    ? ` AND "Modality" IN (${modalities.map(() => '?').join(', ')})`
    : '';
  return {
    sql: `ingested_at < CAST(? AS TIMESTAMP)${only}`,
    params: [cutoff.replace('Z', ''), ...modalities],
  };
}
