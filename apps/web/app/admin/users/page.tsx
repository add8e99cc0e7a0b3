'use client';

import { UserAdmin } from '../../../components/admin/UserAdmin';
import { RoleGate } from '../../../components/shell/RoleGate';

/** Users and their roles (admins only). */
export default function UsersPage() {
  return (
    <RoleGate roles={['admin']}>
      {(me) => (
        <>
          <h1>Users</h1>
          <UserAdmin me={me} />
        </>
      )}
    </RoleGate>
  );
}
