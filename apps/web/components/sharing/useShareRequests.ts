'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from '../../lib/graphql';
import { SHARE_REQUESTS } from '../../lib/sharingOperations';
import type { ShareRequest } from '../../lib/types';

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
