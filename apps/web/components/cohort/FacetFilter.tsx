import { formatCount } from '../../lib/format';
import type { FacetValue } from '../../lib/types';

/** The API's label for studies without the attribute; not a filter value. */
const NONE = '(none)';

/**
 * Checkboxes for one facet, each with the number of studies it would match
 * given every other filter. A chosen value the other filters rule out stays
 * listed with 0 so it can be unchosen.
 */
export function FacetFilter({
  legend,
  values,
  selected,
  onToggle,
}: {
  legend: string;
  values: readonly FacetValue[];
  selected: readonly string[];
  onToggle: (value: string) => void;
}) {
  const offered = values.filter((v) => v.value !== NONE);
  const missing = selected
    .filter((s) => !offered.some((v) => v.value === s))
    .map((value) => ({ value, count: 0 }));
  const none = values.find((v) => v.value === NONE);
  const all = [...offered, ...missing];
  return (
    <fieldset className="facet">
      <legend>{legend}</legend>
      {all.length === 0 ? <p className="muted">No values recorded.</p> : null}
      {all.map((f) => (
        <label key={f.value}>
          <input
            type="checkbox"
            value={f.value}
            checked={selected.includes(f.value)}
            onChange={() => onToggle(f.value)}
          />{' '}
          {f.value} ({formatCount(f.count)})
        </label>
      ))}
      {none ? (
        <p className="muted">
          {formatCount(none.count)} with no value (cannot be chosen)
        </p>
      ) : null}
    </fieldset>
  );
}
