'use client';

import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { ShareRequestTable } from './ShareRequestTable';
import { useSavedCohorts } from './useSavedCohorts';
import { useShareRequests } from './useShareRequests';

/** The caller's share requests and what the stewards decided. */
export function MyShareRequests() {
  const shares = useShareRequests();
  const cohorts = useSavedCohorts();
  if (shares.isPending) return <Loading what="share requests" />;
  if (shares.isError)
    return (
      <ErrorAlert what="Could not load share requests" error={shares.error} />
    );
  return (
    <ShareRequestTable
      label="My share requests"
      shares={shares.data}
      cohorts={cohorts.data ?? []}
    />
  );
}
