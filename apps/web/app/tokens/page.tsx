'use client';

import { TokenAdmin } from '../../components/admin/TokenAdmin';
import { RoleGate } from '../../components/shell/RoleGate';

/** The caller's API tokens. */
export default function TokensPage() {
  return (
    <RoleGate roles={['admin', 'steward', 'researcher']}>
      {() => (
        <>
          <h1>API tokens</h1>
          <TokenAdmin />
        </>
      )}
    </RoleGate>
  );
}
