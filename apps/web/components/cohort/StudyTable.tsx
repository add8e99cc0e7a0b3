'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { COHORT_STUDIES } from '../../lib/cohortOperations';
import { formatCount } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import type { CohortFilter, StudyPage } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';

/** The orders the API offers, with their labels. */
const ORDERS = [
  ['STUDY_INSTANCE_UID', 'Study UID'],
  ['STUDY_DATE', 'Study date'],
  ['INSTANCE_COUNT', 'Instances'],
  ['AGE', 'Age'],
] as const;

/** The page sizes offered; the API allows up to 500. */
const PAGE_SIZES = [5, 10, 25, 50] as const;

/**
 * The studies of a cohort, a page at a time by the API's cursor. Mount it
 * with a key per filter so a new filter starts again at page one. While
 * `after` is true (the counts are on their way) it waits, so that on a
 * small server its query does not slow the counts down.
 */
export function StudyTable({
  filter,
  after: waitFor = false,
}: {
  filter: CohortFilter | null;
  after?: boolean;
}) {
  // The cursors of the pages visited so far; null is the first page.
  const [trail, setTrail] = useState<Array<string | null>>([null]);
  const [pageSize, setPageSize] = useState<number>(10);
  const [order, setOrder] = useState<{ by: string; descending: boolean }>({
    by: 'STUDY_INSTANCE_UID',
    descending: false,
  });
  const after = trail[trail.length - 1] ?? null;
  const page = useQuery<StudyPage>({
    queryKey: ['studies', filter, pageSize, after, order],
    queryFn: ({ signal }) =>
      graphqlRequest<{ cohort: { studies: StudyPage } }>(
        COHORT_STUDIES,
        {
          filter,
          first: pageSize,
          after,
          orderBy: order.by,
          descending: order.descending,
        },
        signal,
      ).then((d) => d.cohort.studies),
    placeholderData: keepPreviousData,
    enabled: !waitFor,
  });
  if (page.isPending) return <Loading what="studies" />;
  if (page.isError)
    return <ErrorAlert what="Could not load the studies" error={page.error} />;
  const { nodes, pageInfo } = page.data;
  const first = (trail.length - 1) * pageSize + 1;
  return (
    <section aria-labelledby="studies-heading">
      <h2 id="studies-heading">Studies</h2>
      {nodes.length === 0 ? (
        <p>No study matches these filters.</p>
      ) : (
        <div className="table-box">
          <table aria-describedby="studies-range">
            <thead>
              <tr>
                <th scope="col">Study Instance UID</th>
                <th scope="col">Patient (pseudonym)</th>
                <th scope="col">Study date</th>
                <th scope="col">Description</th>
                <th scope="col" className="num">
                  Age
                </th>
                <th scope="col">Sex</th>
                <th scope="col">Modalities</th>
                <th scope="col">Body parts</th>
                <th scope="col" className="num">
                  Series
                </th>
                <th scope="col" className="num">
                  Instances
                </th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((s) => (
                <tr key={s.studyInstanceUID}>
                  <td className="uid">
                    <a href={`/studies/${s.studyInstanceUID}`}>
                      {s.studyInstanceUID}
                    </a>
                  </td>
                  <td className="uid">{s.patientID}</td>
                  <td>{s.studyDate ?? '—'}</td>
                  <td>{s.studyDescription ?? '—'}</td>
                  <td className="num">{s.ageYears ?? '—'}</td>
                  <td>{s.patientSex ?? '—'}</td>
                  <td>{s.modalities.join(', ')}</td>
                  <td>{s.bodyParts.join(', ') || '—'}</td>
                  <td className="num">{formatCount(s.seriesCount)}</td>
                  <td className="num">{formatCount(s.instanceCount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        <button
          type="button"
          disabled={trail.length === 1 || page.isFetching}
          onClick={() => setTrail((t) => t.slice(0, -1))}
        >
          Previous page
        </button>
        <span id="studies-range" aria-live="polite">
          {nodes.length
            ? `Studies ${first}-${first + nodes.length - 1}`
            : 'No studies'}
          {page.isFetching ? ' (updating…)' : ''}
        </span>
        <button
          type="button"
          disabled={
            !pageInfo.hasNextPage || !pageInfo.endCursor || page.isFetching
          }
          onClick={() => {
            const next = pageInfo.endCursor;
            if (next) setTrail((t) => [...t, next]);
          }}
        >
          Next page
        </button>
        <label>
          Order by{' '}
          <select
            value={order.by}
            onChange={(e) => {
              setOrder((o) => ({ ...o, by: e.target.value }));
              setTrail([null]);
            }}
          >
            {ORDERS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={order.descending}
            onChange={(e) => {
              setOrder((o) => ({ ...o, descending: e.target.checked }));
              setTrail([null]);
            }}
          />{' '}
          Descending
        </label>
        <label>
          Studies per page{' '}
          <select
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value));
              setTrail([null]);
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
    </section>
  );
}
