'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from '../../lib/graphql';
import { SAVED_COHORTS } from '../../lib/sharingOperations';
import type { SavedCohort } from '../../lib/types';

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
