'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { ADD_USER } from '../../lib/accessOperations';
import { graphqlRequest } from '../../lib/graphql';
import type { Role, UserInfo } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

const ROLES: readonly Role[] = [
  'researcher',
  'collaborator',
  'steward',
  'admin',
];

interface Added {
  addUser: { user: UserInfo; password: string | null };
}

/** Adds a user with a role; without a password the API makes one. */
export function AddUserForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('researcher');
  const [password, setPassword] = useState('');
  const add = useMutation({
    mutationFn: () =>
      graphqlRequest<Added>(ADD_USER, {
        name,
        role,
        password: password || null,
      }).then((d) => d.addUser),
    onSuccess: () => {
      setPassword('');
      return queryClient.invalidateQueries({ queryKey: ['users'] });
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    add.mutate();
  }
  return (
    <form className="inline" onSubmit={submit} aria-label="Add a user">
      <label>
        New user name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Password (empty: generate one)
        <input
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? 'Adding…' : 'Add user'}
      </button>
      {add.isError ? (
        <ErrorAlert what="Could not add the user" error={add.error} />
      ) : null}
      {add.data ? (
        <p role="status" className="ok">
          Added {add.data.user.name} as {add.data.user.role}.
          {add.data.password ? (
            <>
              {' '}
              Password, shown only now:{' '}
              <output className="secret" aria-label="Generated password">
                {add.data.password}
              </output>
            </>
          ) : null}
        </p>
      ) : null}
    </form>
  );
}
