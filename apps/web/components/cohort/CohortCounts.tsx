import { formatCount } from '../../lib/format';
import type { Counts } from '../../lib/types';

const LEVELS: ReadonlyArray<readonly [keyof Counts, string]> = [
  ['patients', 'Patients'],
  ['studies', 'Studies'],
  ['series', 'Series'],
  ['instances', 'Instances'],
];

/** The four levels of a cohort, always in view above the results. */
export function CohortCounts({
  counts,
  label = 'Cohort counts',
  stale = false,
}: {
  counts: Counts;
  label?: string;
  /** The counts are not those of the filters on screen (greyed). */
  stale?: boolean;
}) {
  return (
    <dl
      aria-label={label}
      className={stale ? 'counts stale' : 'counts'}
      data-stale={stale ? 'true' : undefined}
    >
      {LEVELS.map(([key, name]) => (
        <div key={key}>
          <dt>{name}</dt>
          <dd data-level={key}>{formatCount(counts[key])}</dd>
        </div>
      ))}
    </dl>
  );
}
