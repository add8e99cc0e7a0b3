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
}: {
  counts: Counts;
  label?: string;
}) {
  return (
    <dl aria-label={label} className="counts">
      {LEVELS.map(([key, name]) => (
        <div key={key}>
          <dt>{name}</dt>
          <dd data-level={key}>{formatCount(counts[key])}</dd>
        </div>
      ))}
    </dl>
  );
}
