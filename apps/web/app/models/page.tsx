'use client';

import { JobList } from '../../components/models/JobList';
import { ModelRunner } from '../../components/models/ModelRunner';
import { RoleGate } from '../../components/shell/RoleGate';

/** Models: run one over a cohort, watch its progress, cancel it. */
export default function ModelsPage() {
  return (
    <RoleGate roles={['admin', 'researcher']}>
      {() => (
        <>
          <h1>Models</h1>
          <ModelRunner />
          <h2>Runs</h2>
          <JobList />
        </>
      )}
    </RoleGate>
  );
}
