'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { COHORT_SUMMARY } from '../../lib/cohortOperations';
import { NO_CRITERIA, toCohortFilter } from '../../lib/CohortCriteria';
import type { CohortCriteria, ListCriterion } from '../../lib/CohortCriteria';
import { GraphQLRequestError, graphqlRequest } from '../../lib/graphql';
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

/** The filter panel's names of the fields the API names in a refusal. */
const FIELD_LABELS: Record<string, string> = {
  ageMin: 'From age',
  ageMax: 'To age',
  studyDateFrom: 'From date',
  studyDateTo: 'To date',
  text: 'Words in study or series description',
  attribute: 'Any DICOM attribute',
  prediction: 'Model prediction',
  sex: 'Sex',
  modality: 'Modality',
  bodyPart: 'Body part',
  manufacturer: 'Manufacturer',
};

/**
 * What the panel says of a filter the API refused (BAD_USER_INPUT), naming
 * its field as the panel labels it; null for any other error.
 */
function refusal(error: unknown): string | null {
  if (!(error instanceof GraphQLRequestError)) return null;
  if (error.code !== 'BAD_USER_INPUT') return null;
  const label = error.field ? FIELD_LABELS[error.field] : undefined;
  return label
    ? `The filter “${label}” was not accepted`
    : 'The filters were not accepted';
}

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
    // A filter the API refused is refused again: say so at once.
    retry: (count, error) => !refusal(error) && count < 1,
  });
  // The last counts and facets the API gave, kept while it refuses a
  // filter so that the panel stays there to correct it.
  const [accepted, setAccepted] = useState<Summary | undefined>(undefined);
  if (
    summary.isSuccess &&
    !summary.isPlaceholderData &&
    summary.data !== accepted
  )
    setAccepted(summary.data);
  const refused = summary.isError ? refusal(summary.error) : null;
  const shown = summary.data ?? accepted;
  const toggle = (key: ListCriterion, value: string) => {
    setTyping(false);
    setCriteria((c) => ({
      ...c,
      [key]: c[key].includes(value)
        ? c[key].filter((v) => v !== value)
        : [...c[key], value].sort(),
    }));
  };

  if (summary.isPending && !shown) return <Loading what="the lake" />;
  if (!shown)
    return (
      <ErrorAlert what="Could not load the cohort" error={summary.error} />
    );
  const { counts, facets } = shown.cohort;
  return (
    <section aria-labelledby="cohort-heading">
      <h1 id="cohort-heading">Cohort</h1>
      <div className="builder">
        <form
          className="filters"
          aria-label="Filters"
          onSubmit={(e) => e.preventDefault()}
        >
          {/* Held at the top of the panel as it scrolls, above its fields. */}
          {refused !== null ? (
            <div className="refused">
              <ErrorAlert what={refused} error={summary.error} />
            </div>
          ) : null}
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
          <CohortCounts counts={counts} stale={summary.isError} />
          <p role="status" className={summary.isError ? 'error' : 'muted'}>
            {summary.isError
              ? 'Counts not current: they are those of the last filters the API answered.'
              : summary.isFetching
                ? 'Updating counts…'
                : '\u00a0'}
          </p>
          {summary.isError && refused === null ? (
            <ErrorAlert
              what="Could not update the cohort"
              error={summary.error}
            />
          ) : null}
          {summary.isError ? null : (
            <>
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
            </>
          )}
        </div>
      </div>
    </section>
  );
}
