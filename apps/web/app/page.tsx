'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { GraphQLRequestError, graphqlRequest } from '../lib/graphql';
import { SignIn } from './SignIn';

const COHORT_QUERY = `query ($filter: CohortFilter) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    facets { modality { value count } }
  }
}`;

interface Counts {
  patients: number;
  studies: number;
  series: number;
  instances: number;
}

interface CohortResult {
  cohort: {
    counts: Counts;
    facets: { modality: Array<{ value: string; count: number }> };
  };
}

const LEVELS: ReadonlyArray<readonly [keyof Counts, string]> = [
  ['patients', 'Patients'],
  ['studies', 'Studies'],
  ['series', 'Series'],
  ['instances', 'Instances'],
];

export default function CohortPage() {
  const [modalities, setModalities] = useState<string[]>([]);
  const filter = modalities.length ? { modality: modalities } : null;
  const cohort = useQuery({
    queryKey: ['cohort', filter],
    queryFn: ({ signal }) =>
      graphqlRequest<CohortResult>(COHORT_QUERY, { filter }, signal),
    placeholderData: keepPreviousData,
    retry: (count, error) =>
      !(error instanceof GraphQLRequestError) && count < 2,
  });
  const toggle = (value: string) =>
    setModalities((current) =>
      current.includes(value)
        ? current.filter((m) => m !== value)
        : [...current, value].sort(),
    );

  if (cohort.isPending) return <p role="status">Loading the lake…</p>;
  if (
    cohort.isError &&
    cohort.error instanceof GraphQLRequestError &&
    cohort.error.code === 'UNAUTHENTICATED'
  )
    return <SignIn />;
  if (cohort.isError) {
    return (
      <p role="alert">Could not load the cohort: {cohort.error.message}</p>
    );
  }
  const { counts, facets } = cohort.data.cohort;
  return (
    <section aria-labelledby="cohort-heading" aria-busy={cohort.isFetching}>
      <h1 id="cohort-heading">Cohort</h1>
      <fieldset>
        <legend>Modality</legend>
        {facets.modality.map((f) => (
          <label key={f.value} style={{ marginRight: '1rem' }}>
            <input
              type="checkbox"
              name="modality"
              value={f.value}
              checked={modalities.includes(f.value)}
              onChange={() => toggle(f.value)}
            />{' '}
            {f.value} ({f.count})
          </label>
        ))}
      </fieldset>
      <dl aria-label="Cohort counts">
        {LEVELS.map(([key, label]) => (
          <div key={key}>
            <dt>{label}</dt>
            <dd data-level={key}>{counts[key].toLocaleString('en')}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
