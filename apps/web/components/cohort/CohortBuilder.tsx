'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { COHORT_SUMMARY } from '../../lib/cohortOperations';
import { NO_CRITERIA, toCohortFilter } from '../../lib/CohortCriteria';
import type { CohortCriteria, ListCriterion } from '../../lib/CohortCriteria';
import { graphqlRequest } from '../../lib/graphql';
import { useDebounced } from '../../lib/useDebounced';
import type { CohortFilter, Counts, Facets } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { CohortCounts } from './CohortCounts';
import { CriteriaFields } from './CriteriaFields';
import { FacetBars } from './FacetBars';
import { FacetFilter } from './FacetFilter';
import { SaveCohortForm } from './SaveCohortForm';
import { StudyTable } from './StudyTable';

interface Summary {
  cohort: { counts: Counts; facets: Facets };
}

const CHECKBOX_FACETS: ReadonlyArray<readonly [ListCriterion, string]> = [
  ['modality', 'Modality'],
  ['bodyPart', 'Body part'],
  ['sex', 'Sex'],
  ['manufacturer', 'Manufacturer'],
];

/**
 * The cohort builder: a filter panel whose counts follow every other
 * filter, the cohort's counts, charts, the studies, and saving.
 */
export function CohortBuilder({ canSave }: { canSave: boolean }) {
  const [criteria, setCriteria] = useState<CohortCriteria>(NO_CRITERIA);
  // Typing in a field should not send a query per keystroke; a checkbox
  // or a button is one finished change, queried at once.
  const [typing, setTyping] = useState(false);
  const filterKey = useDebounced(
    JSON.stringify(toCohortFilter(criteria)),
    250,
    !typing,
  );
  const filter = useMemo(
    () => JSON.parse(filterKey) as CohortFilter | null,
    [filterKey],
  );
  const summary = useQuery({
    queryKey: ['cohort', filter],
    queryFn: ({ signal }) =>
      graphqlRequest<Summary>(COHORT_SUMMARY, { filter }, signal),
    placeholderData: keepPreviousData,
  });
  const toggle = (key: ListCriterion, value: string) => {
    setTyping(false);
    setCriteria((c) => ({
      ...c,
      [key]: c[key].includes(value)
        ? c[key].filter((v) => v !== value)
        : [...c[key], value].sort(),
    }));
  };

  if (summary.isPending) return <Loading what="the lake" />;
  if (summary.isError && !summary.data)
    return (
      <ErrorAlert what="Could not load the cohort" error={summary.error} />
    );
  const { counts, facets } = summary.data.cohort;
  return (
    <section aria-labelledby="cohort-heading">
      <h1 id="cohort-heading">Cohort</h1>
      <div className="builder">
        <form
          className="filters"
          aria-label="Filters"
          onSubmit={(e) => e.preventDefault()}
        >
          {CHECKBOX_FACETS.map(([key, legend]) => (
            <FacetFilter
              key={key}
              legend={legend}
              values={facets[key]}
              selected={criteria[key]}
              onToggle={(v) => toggle(key, v)}
            />
          ))}
          <CriteriaFields
            criteria={criteria}
            onChange={(key, value) => {
              setTyping(true);
              setCriteria((c) => ({ ...c, [key]: value }));
            }}
          />
          <button
            type="button"
            onClick={() => {
              setTyping(false);
              setCriteria(NO_CRITERIA);
            }}
          >
            Clear filters
          </button>
        </form>
        <div aria-busy={summary.isFetching}>
          <CohortCounts counts={counts} />
          <p role="status" className="muted">
            {summary.isFetching ? 'Updating counts…' : '\u00a0'}
          </p>
          {summary.isError ? (
            <ErrorAlert
              what="Could not update the cohort"
              error={summary.error}
            />
          ) : null}
          {canSave ? <SaveCohortForm filter={filter} /> : null}
          <div className="charts">
            <FacetBars
              title="Age at study by decade"
              values={facets.ageDecade}
            />
            <FacetBars title="Study year" values={facets.studyYear} />
          </div>
          <StudyTable
            key={filterKey}
            filter={filter}
            after={summary.isFetching}
          />
        </div>
      </div>
    </section>
  );
}
