'use client';

import { RoleGate } from '../../components/shell/RoleGate';
import { MyShareRequests } from '../../components/sharing/MyShareRequests';
import { SavedCohortList } from '../../components/sharing/SavedCohortList';

/** Saved cohorts (frozen vs today) and the caller's share requests. */
export default function SavedCohortsPage() {
  return (
    <RoleGate roles={['admin', 'steward', 'researcher']}>
      {(me) => (
        <>
          <h1>Saved cohorts</h1>
          <SavedCohortList me={me} />
          {me.role === 'researcher' ? (
            <>
              <h2>My share requests</h2>
              <MyShareRequests />
            </>
          ) : null}
        </>
      )}
    </RoleGate>
  );
}
