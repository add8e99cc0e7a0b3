'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { graphqlRequest } from '../../lib/graphql';
import { DECIDE_SHARE, REVOKE_SHARE } from '../../lib/sharingOperations';
import type { ShareRequest } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

type Decision = 'approve' | 'deny' | 'revoke';

/**
 * A steward's controls for one request: approve or deny a pending one
 * (a denial needs a reason), revoke an approved one (with a reason).
 */
export function DecideShareForm({
  share,
  canDecide,
}: {
  share: ShareRequest;
  canDecide: boolean;
}) {
  const queryClient = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState<string | null>(null);
  const decide = useMutation({
    mutationFn: (decision: Decision) =>
      decision === 'revoke'
        ? graphqlRequest(REVOKE_SHARE, { id: share.id, reason })
        : graphqlRequest(DECIDE_SHARE, {
            id: share.id,
            approve: decision === 'approve',
            reason: reason.trim() || null,
          }),
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: ['shareRequests'] }),
        queryClient.invalidateQueries({ queryKey: ['releases'] }),
      ]),
  });
  const pending = share.status === 'pending';
  if (!(pending && canDecide) && share.status !== 'approved') return null;

  function act(decision: Decision) {
    if (decision !== 'approve' && !reason.trim()) {
      setMissing(`A reason is required to ${decision} a share.`);
      return;
    }
    setMissing(null);
    decide.mutate(decision);
  }
  return (
    <form
      className="inline"
      onSubmit={(e) => e.preventDefault()}
      aria-label={`Decision on share request ${share.id} for ${share.collaborator}`}
    >
      <label htmlFor={`${id}-r`}>
        {pending ? 'Reason (required to deny)' : 'Reason (required to revoke)'}
        <input
          id={`${id}-r`}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={missing ? true : undefined}
        />
      </label>
      {pending ? (
        <>
          <button
            type="button"
            onClick={() => act('approve')}
            disabled={decide.isPending}
          >
            Approve
          </button>
          <button
            type="button"
            onClick={() => act('deny')}
            disabled={decide.isPending}
          >
            Deny
          </button>
        </>
      ) : (
        <button
          type="button"
          onClick={() => act('revoke')}
          disabled={decide.isPending}
        >
          Revoke
        </button>
      )}
      {decide.isPending ? (
        <span role="status">
          {pending ? 'Building the release…' : 'Revoking…'}
        </span>
      ) : null}
      {missing ? (
        <p role="alert" className="error">
          {missing}
        </p>
      ) : null}
      {decide.isError ? (
        <ErrorAlert what="Could not record the decision" error={decide.error} />
      ) : null}
    </form>
  );
}
