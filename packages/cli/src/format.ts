import type { IngestProgress, IngestReport } from '@lpacs/ingest';

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * A count and its noun, singular for one: `counted(1, 'release')` is
 * "1 release", `counted(2, 'series', 'series')` is "2 series".
 * @param plural - the plural when it is not the noun plus "s".
 */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** One progress line, rewritten in place on a terminal. */
export function progressLine(p: IngestProgress): string {
  const rate = p.elapsedSeconds > 0 ? p.filesDone / p.elapsedSeconds : 0;
  const mbs = p.elapsedSeconds > 0 ? p.bytesRead / 1e6 / p.elapsedSeconds : 0;
  const total = p.filesTotal ? `/${p.filesTotal}` : '';
  const pct = p.filesTotal
    ? ` ${Math.floor((100 * p.filesDone) / p.filesTotal)}%`
    : '';
  return `  ${p.filesDone}${total} files${pct}  ${rate.toFixed(0)} files/s  ${mbs.toFixed(1)} MB/s  ingested ${p.ingested}  skipped ${p.skipped}  quarantined ${p.quarantined}`;
}

/**
 * A path as printed: JSON-quoted when it holds control characters, so a
 * crafted file name cannot print a line of its own.
 */
export function shownPath(p: string): string {
  return /[\x00-\x1f]/.test(p) ? JSON.stringify(p) : p;
}

/** The options in force, in the words of PS3.15 Table E.1-1. */
function optionNames(r: IngestReport): string[] {
  const o = r.deidentification.options;
  const names: string[] = [];
  if (o.longitudinal === 'modified') names.push('modified dates');
  if (o.longitudinal === 'full') names.push('full dates');
  if (o.retainPatientCharacteristics) names.push('patient characteristics');
  if (o.retainDeviceIdentity) names.push('device identity');
  if (o.retainInstitutionIdentity) names.push('institution identity');
  if (o.retainUIDs) names.push('UIDs');
  if (o.retainSafePrivate) names.push('safe private');
  if (o.cleanDescriptors) names.push('clean descriptors');
  if (o.cleanStructuredContent) names.push('clean structured content');
  if (o.cleanGraphics) names.push('clean graphics');
  if (o.blanking.length)
    names.push(`pixel blanking (${o.blanking.length} device rules)`);
  for (const kind of o.acceptUnmarked) names.push(`accept-unmarked ${kind}`);
  return names;
}

/** The human-readable end-of-run report. */
export function reportText(r: IngestReport): string {
  const lines = [
    `lake        ${r.lake}`,
    `files seen  ${r.filesSeen}`,
    `ingested    ${r.ingested}`,
    `skipped     ${r.skipped} (already in the lake)`,
    `quarantined ${r.quarantined}`,
  ];
  if (r.conflicts)
    lines.push(
      `conflicts   ${r.conflicts} (same SOP Instance UID, other content)`,
    );
  if (r.quarantineSettled.length)
    lines.push(
      `settled     ${r.quarantineSettled.length} quarantine entries (their files are now in the lake; removed)`,
    );
  lines.push(
    `read        ${megabytes(r.bytesRead)} in ${r.seconds.toFixed(2)} s: ${r.filesPerSecond.toFixed(1)} files/s, ${r.megabytesPerSecond.toFixed(1)} MB/s`,
    `batches     ${r.batches.length ? r.batches.join(', ') : 'none (nothing new)'}`,
    `de-identification: ${r.deidentification.profile}, options: ${optionNames(r).join(', ') || 'none'}`,
  );

  if (r.notices.length)
    lines.push(`notices     ${r.notices.length} (ingested; worth a look)`);
  for (const n of r.notices.slice(0, 20))
    lines.push(`  notice ${shownPath(n.source)}: ${n.message}`);
  if (r.notices.length > 20)
    lines.push(`  ... and ${r.notices.length - 20} more (--json)`);
  const fallbacks = r.fallbackElements ?? [];
  if (fallbacks.length)
    lines.push(
      `fallbacks   ${fallbacks.length} element(s) removed because their de-identification action failed (files ingested)`,
    );
  for (const n of fallbacks.slice(0, 20))
    lines.push(`  fallback ${shownPath(n.source)}: ${n.message}`);
  if (fallbacks.length > 20)
    lines.push(`  ... and ${fallbacks.length - 20} more (--json)`);
  for (const n of r.notRead)
    lines.push(`  not read ${shownPath(n.source)}: ${n.message}`);
  for (const q of r.quarantine.slice(0, 20))
    lines.push(`  quarantined ${shownPath(q.source)}: ${q.code} ${q.message}`);
  if (r.quarantine.length > 20)
    lines.push(`  ... and ${r.quarantine.length - 20} more (lpacs status)`);
  return lines.join('\n');
}
