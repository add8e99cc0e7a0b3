import type { IngestReport } from './IngestReport';
import type { FileOutcome } from './processFile';

/** An outcome the workers stored as new. */
export type Ingested = Extract<FileOutcome, { kind: 'ingested' }>;

/**
 * Adds an ingested file to a report (`sign` 1), or takes it out again
 * (-1) when its commit found another process had committed it first.
 */
export function tallyIngested(
  report: IngestReport,
  o: Ingested,
  sign: 1 | -1,
): void {
  report.ingested += sign;
  report.bytesWritten += sign * o.bytesWritten;
  const d = report.deidentification;
  for (const [k, v] of Object.entries(o.actions)) {
    d.actions[k] = (d.actions[k] ?? 0) + sign * v;
    if (d.actions[k] === 0) delete d.actions[k];
  }
  d.fallbacks += sign * o.warnings.length;
  d.notices += sign * o.notices.length;
  if (sign > 0) {
    for (const message of o.notices)
      report.notices.push({ source: o.source, message });
    for (const message of o.warnings)
      report.fallbackElements.push({ source: o.source, message });
  } else {
    if (o.notices.length)
      report.notices = report.notices.filter((n) => n.source !== o.source);
    if (o.warnings.length)
      report.fallbackElements = report.fallbackElements.filter(
        (n) => n.source !== o.source,
      );
  }
}
