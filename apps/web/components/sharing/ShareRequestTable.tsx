'use client';

import type { ReactNode } from 'react';
import { formatCount, formatDateTime } from '../../lib/format';
import type { SavedCohort, ShareRequest } from '../../lib/types';

/**
 * Share requests with their cohort, people, purpose, expiry and state;
 * `actions` renders the controls of one request (a steward's decision).
 */
export function ShareRequestTable({
  label,
  shares,
  cohorts,
  actions,
}: {
  label: string;
  shares: readonly ShareRequest[];
  cohorts: readonly SavedCohort[];
  actions?: (share: ShareRequest) => ReactNode;
}) {
  if (shares.length === 0) return <p>No share requests here.</p>;
  return (
    <div className="table-box">
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Cohort</th>
            <th scope="col">Requested by</th>
            <th scope="col">Collaborator</th>
            <th scope="col">Purpose</th>
            <th scope="col">Access until</th>
            <th scope="col">Requested</th>
            <th scope="col">Status</th>
            {actions ? <th scope="col">Decision</th> : null}
          </tr>
        </thead>
        <tbody>
          {shares.map((s) => {
            const cohort = cohorts.find((c) => c.id === s.cohortId);
            return (
              <tr key={s.id} data-share={s.id}>
                <th scope="row">
                  {cohort?.name ?? s.cohortId}
                  {cohort ? (
                    <span className="muted">
                      {' '}
                      ({formatCount(cohort.counts.instances)} instances)
                    </span>
                  ) : null}
                </th>
                <td>{s.requester}</td>
                <td>{s.collaborator}</td>
                <td>{s.purpose}</td>
                <td>{s.expiresAt.slice(0, 10)}</td>
                <td>{formatDateTime(s.requestedAt)}</td>
                <td data-status={s.status}>
                  {s.status}
                  {s.decidedBy ? ` by ${s.decidedBy}` : ''}
                  {s.reason ? `: ${s.reason}` : ''}
                </td>
                {actions ? <td>{actions(s)}</td> : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
