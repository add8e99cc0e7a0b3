import type { IngestProgress, IngestReport } from '@lpacs/ingest';

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
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
  lines.push(
    `read        ${megabytes(r.bytesRead)} in ${r.seconds.toFixed(2)} s: ${r.filesPerSecond.toFixed(1)} files/s, ${r.megabytesPerSecond.toFixed(1)} MB/s`,
    `batches     ${r.batches.length ? r.batches.join(', ') : 'none (nothing new)'}`,
    `de-identification: ${r.deidentification.profile}; options ${JSON.stringify(r.deidentification.options)}`,
  );
  for (const q of r.quarantine.slice(0, 20))
    lines.push(`  quarantined ${q.source}: ${q.code} ${q.message}`);
  if (r.quarantine.length > 20)
    lines.push(`  ... and ${r.quarantine.length - 20} more (lpacs status)`);
  return lines.join('\n');
}
