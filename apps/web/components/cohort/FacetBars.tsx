import { formatCount } from '../../lib/format';
import type { FacetValue } from '../../lib/types';

function order(a: FacetValue, b: FacetValue): number {
  // "(none)" last; decades ("40-49") and years sort by their first number.
  const x = Number.parseInt(a.value, 10);
  const y = Number.parseInt(b.value, 10);
  if (Number.isNaN(x)) return 1;
  if (Number.isNaN(y)) return -1;
  return x - y;
}

/** A horizontal bar list of a facet: one row per value, studies per row. */
export function FacetBars({
  title,
  values,
}: {
  title: string;
  values: readonly FacetValue[];
}) {
  const sorted = [...values].sort(order);
  const max = Math.max(1, ...sorted.map((v) => v.count));
  const id = `bars-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure>
      <figcaption id={id}>
        <strong>{title}</strong> (studies)
      </figcaption>
      {sorted.length === 0 ? <p className="muted">No studies.</p> : null}
      <ul className="bars" aria-labelledby={id}>
        {sorted.map((v) => (
          <li key={v.value}>
            <span>{v.value}</span>
            <span
              className="bar"
              style={{ width: `${(100 * v.count) / max}%` }}
              aria-hidden="true"
            />
            <span className="num">{formatCount(v.count)}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
