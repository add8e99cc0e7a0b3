'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { CREATE_TOKEN, REVOKE_TOKEN, TOKENS } from '../../lib/accessOperations';
import { formatDateTime } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import type { TokenInfo } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { TableHead } from '../common/TableHead';

interface Issued {
  createToken: { info: TokenInfo; token: string };
}

/** The caller's API tokens and sessions: create one, revoke one. */
export function TokenAdmin() {
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [days, setDays] = useState('90');
  const tokens = useQuery({
    queryKey: ['tokens'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ tokens: TokenInfo[] }>(TOKENS, undefined, signal).then(
        (d) => d.tokens,
      ),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['tokens'] });
  const create = useMutation({
    mutationFn: () =>
      graphqlRequest<Issued>(CREATE_TOKEN, {
        label,
        days: Number(days),
      }).then((d) => d.createToken),
    onSuccess: refresh,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => graphqlRequest(REVOKE_TOKEN, { id }),
    onSuccess: refresh,
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate();
  }
  return (
    <>
      <h2>Create a token</h2>
      <form className="inline" onSubmit={submit} aria-label="Create a token">
        <label>
          Token label
          <input
            value={label}
            onChange={(e) => setLabel(e.target.value)}
            required
          />
        </label>
        <label>
          Expires in (days)
          <input
            type="number"
            min={1}
            max={365}
            value={days}
            onChange={(e) => setDays(e.target.value)}
            required
          />
        </label>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      {create.isError ? (
        <ErrorAlert what="Could not create the token" error={create.error} />
      ) : null}
      {create.data ? (
        <p role="status" className="ok">
          Token “{create.data.info.label}”, shown only now; send it as
          “Authorization: Bearer …”:{' '}
          <output className="secret" aria-label="New token">
            {create.data.token}
          </output>
        </p>
      ) : null}
      <h2>Tokens and sessions</h2>
      {revoke.isError ? (
        <ErrorAlert what="Could not revoke the token" error={revoke.error} />
      ) : null}
      {tokens.isPending ? <Loading what="tokens" /> : null}
      {tokens.isError ? (
        <ErrorAlert what="Could not load tokens" error={tokens.error} />
      ) : null}
      {tokens.data ? (
        <div className="table-box">
          <table aria-label="Tokens">
            <TableHead
              columns={[
                'Label',
                'Kind',
                'Created',
                'Expires',
                'Status',
                'Action',
              ]}
            />
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id} data-token={t.id}>
                  <th scope="row">{t.label}</th>
                  <td>{t.kind}</td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>{formatDateTime(t.expiresAt)}</td>
                  <td data-token-status>
                    {t.revokedAt ? 'revoked' : 'active'}
                  </td>
                  <td>
                    {t.revokedAt || t.kind === 'session' ? null : (
                      <button
                        type="button"
                        disabled={revoke.isPending}
                        onClick={() => revoke.mutate(t.id)}
                      >
                        Revoke {t.label}
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
