'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { graphqlRequest } from '../../lib/graphql';
import { MODELS, RUN_MODEL } from '../../lib/modelOperations';
import type { JobInfo, ModelInfo } from '../../lib/modelOperations';
import { useSavedCohorts } from '../sharing/useSavedCohorts';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { TableHead } from '../common/TableHead';

/** Start a model over a saved cohort's filter. */
export function ModelRunner() {
  const queryClient = useQueryClient();
  const models = useQuery({
    queryKey: ['models'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ models: ModelInfo[] }>(MODELS, undefined, signal).then(
        (d) => d.models,
      ),
  });
  const cohorts = useSavedCohorts();
  const [model, setModel] = useState('');
  const [cohort, setCohort] = useState('');
  const run = useMutation({
    mutationFn: (input: { model: string; filter?: unknown }) =>
      graphqlRequest<{ runModel: JobInfo }>(RUN_MODEL, { input }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['jobs'] }),
  });
  if (models.isPending) return <Loading what="models" />;
  if (models.isError)
    return <ErrorAlert what="Could not load models" error={models.error} />;
  if (models.data.length === 0)
    return (
      <p className="muted">
        No models yet. An admin adds one with{' '}
        <code>npx lpacs models add DIR</code>.
      </p>
    );
  const chosen = model || models.data[0]!.name;
  const saved = cohorts.data ?? [];
  const target = cohort || saved[0]?.id || '';
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const c = saved.find((x) => x.id === target);
    if (c)
      run.mutate({ model: chosen, filter: JSON.parse(c.filter) as unknown });
  };
  return (
    <form onSubmit={submit} aria-label="Run a model">
      <table aria-label="Models">
        <TableHead columns={['Model', 'Version', 'Task', 'Labels']} />
        <tbody>
          {models.data.map((m) => (
            <tr key={m.sha256} data-model={m.name}>
              <th scope="row">{m.name}</th>
              <td>{m.version}</td>
              <td>{m.task}</td>
              <td>{m.labels.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <label>
          Model{' '}
          <select
            aria-label="Model"
            value={chosen}
            onChange={(e) => setModel(e.target.value)}
          >
            {models.data.map((m) => (
              <option key={m.sha256} value={m.name}>
                {m.name} {m.version}
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          Over{' '}
          <select
            aria-label="Run over"
            value={target}
            onChange={(e) => setCohort(e.target.value)}
          >
            {saved.map((c) => (
              <option key={c.id} value={c.id}>
                saved cohort: {c.name}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="submit" disabled={run.isPending || !target}>
          {run.isPending ? 'Starting…' : 'Run model'}
        </button>
      </p>
      {cohorts.isSuccess && saved.length === 0 ? (
        <p className="muted">
          Save a cohort in the cohort builder first: a model runs over a saved
          cohort.
        </p>
      ) : null}
      {run.isError ? (
        <ErrorAlert what="Could not start the run" error={run.error} />
      ) : null}
    </form>
  );
}
