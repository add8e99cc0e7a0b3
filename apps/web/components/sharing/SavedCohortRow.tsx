'use client';

import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { COHORT_COUNTS } from '../../lib/cohortOperations';
import { describeFilter } from '../../lib/CohortCriteria';
import { formatCount, formatDateTime, formatDiff } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import type { Counts, SavedCohort } from '../../lib/types';

const LEVELS: ReadonlyArray<keyof Counts> = [
  'patients',
  'studies',
  'series',
  'instances',
];

function parsedFilter(json: string): unknown {
  try {
    const f = JSON.parse(json) as unknown;
    return f && typeof f === 'object' && Object.keys(f).length ? f : null;
  } catch {
    return null;
  }
}

/**
 * One saved cohort: its frozen counts beside today's counts of the same
 * filter, so new data (or removed data) shows as a difference.
 */
export function SavedCohortRow({
  cohort,
  action,
}: {
  cohort: SavedCohort;
  action?: ReactNode;
}) {
  const today = useQuery({
    queryKey: ['cohortCounts', cohort.filter],
    queryFn: ({ signal }) =>
      graphqlRequest<{ cohort: { counts: Counts } }>(
        COHORT_COUNTS,
        { filter: parsedFilter(cohort.filter) },
        signal,
      ).then((d) => d.cohort.counts),
  });
  return (
    <tr data-cohort={cohort.id}>
      <th scope="row">
        {cohort.name}
        {cohort.erased ? (
          <small
            data-erased
            title={`last erasure ${formatDateTime(cohort.erased.at)}`}
          >
            {' '}
            ({formatCount(cohort.erased.instances)} instances erased)
          </small>
        ) : null}
      </th>
      <td>{cohort.owner}</td>
      <td>{formatDateTime(cohort.createdAt)}</td>
      <td>{describeFilter(cohort.filter)}</td>
      {LEVELS.map((level) => {
        const frozen = cohort.counts[level];
        const now = today.data?.[level];
        return (
          <td key={level} className="num" data-level={level}>
            <span data-frozen>{formatCount(frozen)}</span>
            {' / '}
            <span data-today>
              {now === undefined
                ? today.isError
                  ? 'error'
                  : '…'
                : formatCount(now)}
            </span>
            {now !== undefined && now !== frozen ? (
              <strong data-diff> ({formatDiff(now - frozen)})</strong>
            ) : null}
          </td>
        );
      })}
      <td>{action}</td>
    </tr>
  );
}
