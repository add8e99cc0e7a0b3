'use client';

import type { Me } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { DecideShareForm } from './DecideShareForm';
import { ShareRequestTable } from './ShareRequestTable';
import { useSavedCohorts } from './useSavedCohorts';
import { useShareRequests } from './useShareRequests';

/** The steward's inbox: pending requests first, then decided ones. */
export function ShareInbox({ me }: { me: Me }) {
  const shares = useShareRequests();
  const cohorts = useSavedCohorts();
  if (shares.isPending) return <Loading what="share requests" />;
  if (shares.isError)
    return (
      <ErrorAlert what="Could not load share requests" error={shares.error} />
    );
  const canDecide = me.role === 'steward';
  const pending = shares.data.filter((s) => s.status === 'pending');
  const decided = shares.data.filter((s) => s.status !== 'pending');
  const actions = (s: (typeof shares.data)[number]) => (
    <DecideShareForm share={s} canDecide={canDecide} />
  );
  return (
    <>
      <h2 id="pending-heading">Pending ({pending.length})</h2>
      {canDecide ? null : (
        <p className="muted">Only a steward may approve or deny.</p>
      )}
      <ShareRequestTable
        label="Pending share requests"
        shares={pending}
        cohorts={cohorts.data ?? []}
        actions={actions}
      />
      <h2>Decided ({decided.length})</h2>
      <ShareRequestTable
        label="Decided share requests"
        shares={decided}
        cohorts={cohorts.data ?? []}
        actions={actions}
      />
    </>
  );
}
