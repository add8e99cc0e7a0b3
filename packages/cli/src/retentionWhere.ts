/**
 * The instances a retention policy selects: ingested before `cutoff` (an
 * ISO instant) when one is given, of `modalities` only when any are given,
 * and of a project (the SOP Instance UIDs of its saved cohort) when
 * `instances` is given. All that is given must hold.
 */
export function retentionWhere(
  cutoff: string | undefined,
  modalities: readonly string[],
  instances?: readonly string[],
): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (cutoff !== undefined) {
    parts.push('ingested_at < CAST(? AS TIMESTAMP)');
    params.push(cutoff.replace('Z', ''));
  }
  if (modalities.length) {
    parts.push(`"Modality" IN (${modalities.map(() => '?').join(', ')})`);
    params.push(...modalities);
  }
  if (instances) {
    // A cohort emptied by earlier erasures selects nothing.
    parts.push(
      instances.length
        ? `"SOPInstanceUID" IN (${instances.map(() => '?').join(', ')})`
        : 'false',
    );
    params.push(...instances);
  }
  return { sql: parts.length ? parts.join(' AND ') : 'false', params };
}
