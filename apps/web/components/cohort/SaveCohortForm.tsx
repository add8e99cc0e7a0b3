'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { formatCount } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import { SAVE_COHORT } from '../../lib/sharingOperations';
import type { CohortFilter, Counts } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

interface Saved {
  saveCohort: { id: string; name: string; counts: Counts };
}

/** Freezes the current filter under a name. */
export function SaveCohortForm({ filter }: { filter: CohortFilter | null }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const save = useMutation({
    mutationFn: (vars: { name: string; filter: CohortFilter | null }) =>
      graphqlRequest<Saved>(SAVE_COHORT, { ...vars }),
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: ['savedCohorts'] }),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    save.mutate({ name, filter });
  }
  const saved = save.data?.saveCohort;
  return (
    <form className="inline" onSubmit={submit} aria-label="Save cohort">
      <label>
        Cohort name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={200}
        />
      </label>
      <button type="submit" disabled={save.isPending}>
        {save.isPending ? 'Saving…' : 'Save cohort'}
      </button>
      {save.isError ? (
        <ErrorAlert what="Could not save the cohort" error={save.error} />
      ) : null}
      {saved ? (
        <p role="status" className="ok">
          Saved “{saved.name}” with {formatCount(saved.counts.instances)}{' '}
          instances. <Link href="/cohorts">See saved cohorts</Link>
        </p>
      ) : null}
    </form>
  );
}
