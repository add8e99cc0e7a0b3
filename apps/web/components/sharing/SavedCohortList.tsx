'use client';

import { Fragment, useState } from 'react';
import type { Me } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { RequestShareForm } from './RequestShareForm';
import { SavedCohortRow } from './SavedCohortRow';
import { useSavedCohorts } from './useSavedCohorts';

/** Saved cohorts with frozen and current counts; owners may request shares. */
export function SavedCohortList({ me }: { me: Me }) {
  const [sharing, setSharing] = useState<string | null>(null);
  const saved = useSavedCohorts();
  if (saved.isPending) return <Loading what="saved cohorts" />;
  if (saved.isError)
    return (
      <ErrorAlert what="Could not load saved cohorts" error={saved.error} />
    );
  if (saved.data.length === 0)
    return (
      <p>
        No saved cohort yet. Build one in the cohort builder and press “Save
        cohort”.
      </p>
    );
  const canShare = me.role === 'researcher';
  return (
    <div className="table-box">
      <table aria-label="Saved cohorts">
        <caption className="muted">
          Each count reads frozen / today, with the difference when the lake has
          changed since the cohort was saved.
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Owner</th>
            <th scope="col">Saved</th>
            <th scope="col">Filter</th>
            <th scope="col" className="num">
              Patients
            </th>
            <th scope="col" className="num">
              Studies
            </th>
            <th scope="col" className="num">
              Series
            </th>
            <th scope="col" className="num">
              Instances
            </th>
            <th scope="col">Share</th>
          </tr>
        </thead>
        <tbody>
          {saved.data.map((c) => (
            <Fragment key={c.id}>
              <SavedCohortRow
                cohort={c}
                action={
                  canShare && c.owner === me.name ? (
                    <button
                      type="button"
                      aria-expanded={sharing === c.id}
                      onClick={() =>
                        setSharing((s) => (s === c.id ? null : c.id))
                      }
                    >
                      Request share of {c.name}
                    </button>
                  ) : null
                }
              />
              {sharing === c.id ? (
                <tr>
                  <td colSpan={9}>
                    <RequestShareForm cohort={c} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
