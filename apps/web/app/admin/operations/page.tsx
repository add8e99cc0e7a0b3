'use client';

import { OperationsView } from '../../../components/admin/OperationsView';
import { RoleGate } from '../../../components/shell/RoleGate';

/** The API process and its lake at a glance: latency, errors, ingest, disk, backup. */
export default function OperationsPage() {
  return (
    <RoleGate roles={['admin', 'steward']}>
      {() => (
        <>
          <h1>Operations</h1>
          <OperationsView />
        </>
      )}
    </RoleGate>
  );
}
