'use client';

import type { ReactNode } from 'react';
import { useMe } from '../../lib/useMe';
import type { Me, Role } from '../../lib/types';

/**
 * Renders `children(me)` when the signed-in user's role is one of `roles`,
 * else says the page is not for them. The shell has already signed them in.
 */
export function RoleGate({
  roles,
  children,
}: {
  roles: readonly Role[];
  children: (me: Me) => ReactNode;
}) {
  const me = useMe();
  if (!me.data) return null;
  if (!roles.includes(me.data.role))
    return (
      <p role="alert" className="error">
        This page is not available to the {me.data.role} role.
      </p>
    );
  return <>{children(me.data)}</>;
}
