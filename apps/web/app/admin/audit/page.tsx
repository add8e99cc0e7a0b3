'use client';

import { AuditLogView } from '../../../components/admin/AuditLogView';
import { RoleGate } from '../../../components/shell/RoleGate';

/** The hash-chained audit log (admins only). */
export default function AuditPage() {
  return (
    <RoleGate roles={['admin']}>
      {() => (
        <>
          <h1>Audit log</h1>
          <AuditLogView />
        </>
      )}
    </RoleGate>
  );
}
