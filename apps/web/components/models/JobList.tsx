'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { graphqlRequest } from '../../lib/graphql';
import { CANCEL_JOB, JOBS } from '../../lib/modelOperations';
import type { JobInfo } from '../../lib/modelOperations';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { TableHead } from '../common/TableHead';

// An interrupted job is resumed when its server starts again.
const ACTIVE = new Set(['queued', 'running', 'interrupted']);

/** Prediction jobs with live progress (polled while any runs) and cancel. */
export function JobList() {
  const queryClient = useQueryClient();
  const jobs = useQuery({
    queryKey: ['jobs'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ jobs: JobInfo[] }>(JOBS, undefined, signal).then(
        (d) => d.jobs,
      ),
    refetchInterval: (q) =>
      q.state.data?.some((j) => ACTIVE.has(j.phase)) ? 500 : false,
  });
  const cancel = useMutation({
    mutationFn: (id: string) => graphqlRequest(CANCEL_JOB, { id }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['jobs'] }),
  });
  if (jobs.isPending) return <Loading what="jobs" />;
  if (jobs.isError)
    return <ErrorAlert what="Could not load jobs" error={jobs.error} />;
  if (jobs.data.length === 0) return <p className="muted">No runs yet.</p>;
  return (
    <>
      {cancel.isError ? (
        <ErrorAlert what="Could not cancel" error={cancel.error} />
      ) : null}
      <table aria-label="Model runs">
        <TableHead
          columns={[
            'Model',
            'Status',
            'Progress',
            'Predicted',
            'Skipped',
            'Failed',
            'Action',
          ]}
        />
        <tbody>
          {jobs.data.map((j) => (
            <tr key={j.id} data-job={j.id} data-phase={j.phase}>
              <th scope="row">
                {j.modelName} {j.modelVersion}
              </th>
              <td>{j.error ? `${j.phase}: ${j.error}` : j.phase}</td>
              <td>
                <progress
                  max={1}
                  value={j.progress.fraction}
                  aria-label={`Progress of ${j.modelName}`}
                />{' '}
                {j.progress.done}/{j.progress.total}
              </td>
              <td data-predicted>{j.progress.predicted}</td>
              <td>{j.progress.skipped}</td>
              <td>{j.progress.failed}</td>
              <td>
                {ACTIVE.has(j.phase) ? (
                  <button
                    type="button"
                    onClick={() => cancel.mutate(j.id)}
                    disabled={cancel.isPending}
                  >
                    Cancel
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
