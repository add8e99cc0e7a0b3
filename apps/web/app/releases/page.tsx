'use client';

import { RoleGate } from '../../components/shell/RoleGate';
import { ReleaseList } from '../../components/sharing/ReleaseList';

/** Releases: a collaborator's own, or all for stewards and admins. */
export default function ReleasesPage() {
  return (
    <RoleGate roles={['admin', 'steward', 'collaborator']}>
      {(me) => (
        <>
          <h1>{me.role === 'collaborator' ? 'My releases' : 'Releases'}</h1>
          <ReleaseList me={me} />
        </>
      )}
    </RoleGate>
  );
}
