'use client';

import { useQuery } from '@tanstack/react-query';
import { ME } from './accessOperations';
import { GraphQLRequestError, graphqlRequest } from './graphql';
import type { Me } from './types';

/** The query key of the signed-in user; reset on sign-in and sign-out. */
export const ME_KEY = ['me'] as const;

/** Who is signed in (UNAUTHENTICATED error when nobody is). */
export function useMe() {
  return useQuery({
    queryKey: ME_KEY,
    queryFn: ({ signal }) =>
      graphqlRequest<{ me: Me }>(ME, undefined, signal).then((d) => d.me),
    retry: (count, error) =>
      !(error instanceof GraphQLRequestError) && count < 2,
    staleTime: 60_000,
  });
}
