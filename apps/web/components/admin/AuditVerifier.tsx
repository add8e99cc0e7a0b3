'use client';

import { useQuery } from '@tanstack/react-query';
import { VERIFY_AUDIT } from '../../lib/accessOperations';
import { graphqlRequest } from '../../lib/graphql';
import { ErrorAlert } from '../common/ErrorAlert';

interface Verification {
  verifyAudit: { entries: number; head: string };
}

/** Recomputes the audit hash chain on request and says whether it holds. */
export function AuditVerifier() {
  const check = useQuery({
    queryKey: ['verifyAudit'],
    queryFn: ({ signal }) =>
      graphqlRequest<Verification>(VERIFY_AUDIT, undefined, signal).then(
        (d) => d.verifyAudit,
      ),
    enabled: false,
  });
  return (
    <p>
      <button
        type="button"
        onClick={() => void check.refetch()}
        disabled={check.isFetching}
      >
        {check.isFetching ? 'Verifying…' : 'Verify the hash chain'}
      </button>{' '}
      {check.isError ? (
        <ErrorAlert what="The audit chain is broken" error={check.error} />
      ) : null}
      {check.data ? (
        <span role="status" className="ok">
          Intact: {check.data.entries} entries, head{' '}
          <code>{check.data.head.slice(0, 16)}…</code>
        </span>
      ) : null}
    </p>
  );
}
