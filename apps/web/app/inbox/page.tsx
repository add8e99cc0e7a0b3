'use client';

import { RoleGate } from '../../components/shell/RoleGate';
import { ShareInbox } from '../../components/sharing/ShareInbox';

/** The steward's inbox of share requests. */
export default function InboxPage() {
  return (
    <RoleGate roles={['admin', 'steward']}>
      {(me) => (
        <>
          <h1>Share requests</h1>
          <ShareInbox me={me} />
        </>
      )}
    </RoleGate>
  );
}
