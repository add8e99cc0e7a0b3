'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from '../../lib/graphql';
import { SAVED_COHORTS, SHARE_REQUESTS } from '../../lib/sharingOperations';
import type { SavedCohort, ShareRequest } from '../../lib/types';

/** Share requests the caller may see (one status, or all), newest first. */
export function useShareRequests(status?: string) {
  return useQuery({
    queryKey: ['shareRequests', status ?? 'all'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ shareRequests: ShareRequest[] }>(
        SHARE_REQUESTS,
        status ? { status } : {},
        signal,
      ).then((d) => d.shareRequests),
  });
}

/** Saved cohorts the caller may see, to name the cohort of a request. */
export function useSavedCohorts() {
  return useQuery({
    queryKey: ['savedCohorts'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ savedCohorts: SavedCohort[] }>(
        SAVED_COHORTS,
        undefined,
        signal,
      ).then((d) => d.savedCohorts),
  });
}
