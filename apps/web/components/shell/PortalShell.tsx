'use client';

import type { ReactNode } from 'react';
import { GraphQLRequestError } from '../../lib/graphql';
import { useMe } from '../../lib/useMe';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { NavBar } from './NavBar';
import { SignIn } from './SignIn';

/**
 * Asks the API who is signed in: nobody gets the sign-in form, anybody
 * else the navigation of their role and the page.
 */
export function PortalShell({ children }: { children: ReactNode }) {
  const me = useMe();
  if (me.isPending)
    return (
      <main id="main">
        <Loading what="your session" />
      </main>
    );
  if (
    me.isError &&
    me.error instanceof GraphQLRequestError &&
    me.error.code === 'UNAUTHENTICATED'
  )
    return (
      <main id="main">
        <SignIn />
      </main>
    );
  if (me.isError)
    return (
      <main id="main">
        <ErrorAlert what="Could not reach lpacs" error={me.error} />
        <button
          type="button"
          onClick={() => void me.refetch()}
          disabled={me.isFetching}
        >
          {me.isFetching ? 'Trying…' : 'Try again'}
        </button>
      </main>
    );
  return (
    <>
      <NavBar me={me.data} />
      <main id="main">{children}</main>
    </>
  );
}
