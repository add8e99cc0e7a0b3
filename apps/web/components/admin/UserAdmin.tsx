'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DISABLE_USER, USERS } from '../../lib/accessOperations';
import { formatDateTime } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import type { Me, UserInfo } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { AddUserForm } from './AddUserForm';
import { TableHead } from '../common/TableHead';

/** Lists users, adds one with a role, disables one. */
export function UserAdmin({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const users = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ users: UserInfo[] }>(USERS, undefined, signal).then(
        (d) => d.users,
      ),
  });
  const disable = useMutation({
    mutationFn: (name: string) => graphqlRequest(DISABLE_USER, { name }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['users'] }),
  });
  return (
    <>
      <h2>Add a user</h2>
      <AddUserForm />
      <h2>Users</h2>
      {disable.isError ? (
        <ErrorAlert what="Could not disable the user" error={disable.error} />
      ) : null}
      {users.isPending ? <Loading what="users" /> : null}
      {users.isError ? (
        <ErrorAlert what="Could not load users" error={users.error} />
      ) : null}
      {users.data ? (
        <div className="table-box">
          <table aria-label="Users">
            <TableHead
              columns={['Name', 'Role', 'Created', 'Status', 'Action']}
            />
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-user={u.name}>
                  <th scope="row">{u.name}</th>
                  <td data-role>{u.role}</td>
                  <td>{formatDateTime(u.createdAt)}</td>
                  <td>
                    {u.disabledAt
                      ? `disabled ${formatDateTime(u.disabledAt)}`
                      : 'active'}
                  </td>
                  <td>
                    {u.disabledAt || u.name === me.name ? null : (
                      <button
                        type="button"
                        disabled={disable.isPending}
                        onClick={() => disable.mutate(u.name)}
                      >
                        Disable {u.name}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
