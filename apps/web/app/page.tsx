'use client';

import { useQuery } from '@tanstack/react-query';
import { API_URL, graphqlRequest } from '../lib/graphql';

const COUNTS_QUERY =
  '{ cohort { counts { patients studies series instances } } }';

interface Counts {
  patients: number;
  studies: number;
  series: number;
  instances: number;
}

interface CountsResult {
  cohort: { counts: Counts };
}

const LEVELS: ReadonlyArray<readonly [keyof Counts, string]> = [
  ['patients', 'Patients'],
  ['studies', 'Studies'],
  ['series', 'Series'],
  ['instances', 'Instances'],
];

export default function HomePage() {
  const counts = useQuery({
    queryKey: ['lake-counts'],
    queryFn: ({ signal }) =>
      graphqlRequest<CountsResult>(COUNTS_QUERY, undefined, signal),
  });

  return (
    <section aria-labelledby="counts-heading" aria-busy={counts.isPending}>
      <h1 id="counts-heading">What the lake holds</h1>
      {counts.isPending ? (
        <p role="status">Loading counts…</p>
      ) : counts.isError ? (
        <p role="alert">
          Could not load counts from {API_URL}: {counts.error.message}
        </p>
      ) : (
        <dl aria-label="Lake counts">
          {LEVELS.map(([key, label]) => (
            <div key={key}>
              <dt>{label}</dt>
              <dd>{counts.data.cohort.counts[key].toLocaleString('en')}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
