/** GraphQL documents of models, prediction jobs and their results. */

export const MODELS = `query Models {
  models { name version task sha256 labels addedAt }
}`;

const JOB = `id phase modelName modelVersion createdAt finishedAt error
  progress { total done predicted skipped failed fraction }`;

export const JOBS = `query Jobs { jobs { ${JOB} } }`;

export const RUN_MODEL = `mutation RunModel($input: RunModelInput!) {
  runModel(input: $input) { ${JOB} }
}`;

export const CANCEL_JOB = `mutation CancelJob($id: String!) {
  cancelJob(id: $id) { ${JOB} }
}`;

/** The cohort a model's label selects, to show a run's results. */
export const PREDICTED_COUNTS = `query Predicted($filter: CohortFilter) {
  cohort(filter: $filter) { counts { patients studies series instances } }
}`;

export interface ModelInfo {
  name: string;
  version: string;
  task: string;
  sha256: string;
  labels: string[];
  addedAt: string;
}

export interface JobInfo {
  id: string;
  phase: 'queued' | 'running' | 'interrupted' | 'done' | 'cancelled' | 'failed';
  modelName: string;
  modelVersion: string;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  progress: {
    total: number;
    done: number;
    predicted: number;
    skipped: number;
    failed: number;
    fraction: number;
  };
}
