'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { AUDIT_LOG, USERS } from '../../lib/accessOperations';
import { graphqlRequest } from '../../lib/graphql';
import type { AuditEntry, UserInfo } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { AuditVerifier } from './AuditVerifier';

/**
 * Actions the API records, offered as suggestions; the gate also records
 * every authorized action by its permission name (cohort.query, ...).
 */
const KNOWN_ACTIONS = [
  'sign-in',
  'sign-out',
  'cohort.query',
  'cohort.save',
  'share.request',
  'share.decide',
  'share.revoke',
  'release.link',
  'release.download',
  'user.add',
  'user.disable',
  'token.issue',
  'token.revoke',
];

interface AuditFilter {
  actor: string;
  action: string;
  from: string;
  to: string;
  limit: number;
}

const ALL: AuditFilter = {
  actor: '',
  action: '',
  from: '',
  to: '',
  limit: 100,
};

function variables(f: AuditFilter): Record<string, unknown> {
  return {
    actor: f.actor || null,
    action: f.action.trim() || null,
    from: f.from || null,
    // Entries carry full timestamps; "to" a day means to its last moment.
    to: f.to ? `${f.to}T23:59:59.999Z` : null,
    limit: f.limit,
  };
}

/** The audit log, newest first, filtered by user, action and dates. */
export function AuditLogView() {
  const [draft, setDraft] = useState<AuditFilter>(ALL);
  const [applied, setApplied] = useState<AuditFilter>(ALL);
  const users = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ users: UserInfo[] }>(USERS, undefined, signal).then(
        (d) => d.users,
      ),
  });
  const log = useQuery<AuditEntry[]>({
    queryKey: ['audit', applied],
    queryFn: ({ signal }) =>
      graphqlRequest<{ auditLog: AuditEntry[] }>(
        AUDIT_LOG,
        variables(applied),
        signal,
      ).then((d) => d.auditLog),
    placeholderData: keepPreviousData,
  });
  const set = (key: keyof AuditFilter, value: string) =>
    setDraft((d) => ({
      ...d,
      [key]: key === 'limit' ? Number(value) || 100 : value,
    }));
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setApplied(draft);
  }
  return (
    <>
      <form className="inline" onSubmit={submit} aria-label="Audit filters">
        <label>
          User
          <select
            value={draft.actor}
            onChange={(e) => set('actor', e.target.value)}
          >
            <option value="">any user</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.name}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <input
            list="audit-actions"
            value={draft.action}
            onChange={(e) => set('action', e.target.value)}
            placeholder="any action"
          />
        </label>
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <label>
          From day
          <input
            type="date"
            value={draft.from}
            onChange={(e) => set('from', e.target.value)}
          />
        </label>
        <label>
          To day
          <input
            type="date"
            value={draft.to}
            onChange={(e) => set('to', e.target.value)}
          />
        </label>
        <label>
          At most
          <input
            type="number"
            min={1}
            max={10000}
            value={draft.limit}
            onChange={(e) => set('limit', e.target.value)}
          />
        </label>
        <button type="submit">Show entries</button>
      </form>
      <AuditVerifier />
      {log.isPending ? <Loading what="the audit log" /> : null}
      {log.isError ? (
        <ErrorAlert what="Could not load the audit log" error={log.error} />
      ) : null}
      {log.data && log.data.length === 0 ? (
        <p>No audit entry matches these filters.</p>
      ) : null}
      {log.data && log.data.length > 0 ? (
        <div className="table-box" aria-busy={log.isFetching}>
          <table aria-label="Audit entries">
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">At (UTC)</th>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((e) => (
                <tr key={e.seq} data-seq={e.seq}>
                  <td className="num">{e.seq}</td>
                  <td>{e.at.replace('T', ' ').slice(0, 19)}</td>
                  <td data-actor>{e.actor}</td>
                  <td>{e.role ?? '—'}</td>
                  <td data-action>{e.action}</td>
                  <td className="uid">{e.target ?? '—'}</td>
                  <td>{e.outcome}</td>
                  <td className="uid">{e.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
