'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { graphqlRequest } from '../../lib/graphql';
import { REQUEST_SHARE } from '../../lib/sharingOperations';
import type { SavedCohort, ShareRequest } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

const DAY_MS = 86_400_000;

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * DAY_MS).toISOString().slice(0, 10);
}

/** Asks a steward to share a saved cohort with a collaborator. */
export function RequestShareForm({ cohort }: { cohort: SavedCohort }) {
  const queryClient = useQueryClient();
  const id = useId();
  const [collaborator, setCollaborator] = useState('');
  const [purpose, setPurpose] = useState('');
  // The API accepts expiries within a year; 90 days is a common agreement.
  const [expiresAt, setExpiresAt] = useState(isoDay(90));
  const request = useMutation({
    mutationFn: (vars: Record<string, string>) =>
      graphqlRequest<{ requestShare: ShareRequest }>(REQUEST_SHARE, vars),
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: ['shareRequests'] }),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    request.mutate({ cohortId: cohort.id, collaborator, purpose, expiresAt });
  }
  return (
    <form
      className="inline"
      onSubmit={submit}
      aria-label={`Request a share of ${cohort.name}`}
    >
      <label htmlFor={`${id}-c`}>
        Collaborator (user name)
        <input
          id={`${id}-c`}
          value={collaborator}
          onChange={(e) => setCollaborator(e.target.value)}
          required
        />
      </label>
      <label htmlFor={`${id}-p`}>
        Purpose
        <textarea
          id={`${id}-p`}
          value={purpose}
          onChange={(e) => setPurpose(e.target.value)}
          required
          maxLength={2000}
          rows={2}
          cols={40}
        />
      </label>
      <label htmlFor={`${id}-e`}>
        Access until
        <input
          id={`${id}-e`}
          type="date"
          value={expiresAt}
          min={isoDay(1)}
          max={isoDay(365)}
          onChange={(e) => setExpiresAt(e.target.value)}
          required
        />
      </label>
      <button type="submit" disabled={request.isPending}>
        {request.isPending ? 'Requesting…' : 'Request share'}
      </button>
      {request.isError ? (
        <ErrorAlert what="Could not request the share" error={request.error} />
      ) : null}
      {request.data ? (
        <p role="status" className="ok">
          Requested: a steward will review sharing “{cohort.name}” with{' '}
          {request.data.requestShare.collaborator}.
        </p>
      ) : null}
    </form>
  );
}
