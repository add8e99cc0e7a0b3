'use client';

import { LakeStatusView } from '../../../components/admin/LakeStatusView';
import { RoleGate } from '../../../components/shell/RoleGate';

/** Ingest status and the quarantine with reasons. */
export default function LakePage() {
  return (
    <RoleGate roles={['admin', 'steward']}>
      {() => (
        <>
          <h1>Lake and quarantine</h1>
          <LakeStatusView />
        </>
      )}
    </RoleGate>
  );
}
