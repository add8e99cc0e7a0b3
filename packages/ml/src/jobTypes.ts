/** One instance a job runs the model on. */
export interface JobInput {
  SOPInstanceUID: string;
  SeriesInstanceUID: string;
  StudyInstanceUID: string;
  /** Object path under the lake. */
  object_key: string;
  NumberOfFrames: number;
}

/**
 * What an erasure leaves of an input of an unfinished job in place of an
 * erased instance: nothing that names it, at its index (a job's
 * `progress.done` is a cursor into its inputs), so the job counts it as
 * failed (`INPUT_ERASED`) when it gets there.
 */
export interface ErasedInput {
  erased: true;
}

/** An entry of a job's stored inputs (`<id>.inputs.json`). */
export type StoredInput = JobInput | ErasedInput;

/** Whether a stored input is one an erasure redacted. */
export function isErasedInput(i: StoredInput): i is ErasedInput {
  return (i as ErasedInput).erased === true;
}

/**
 * An input the model could not read, and why; the job goes on. For a
 * model that stacks series the input is a series, named with how many of
 * its instances failed with it: a job's `failed` counts instances, and is
 * the sum of its failures' `instances` (1 when absent) while every
 * failure is kept.
 */
export interface InputFailure {
  /** The instance at fault, when one is. */
  SOPInstanceUID?: string;
  /** The series, for a model that stacks series. */
  SeriesInstanceUID?: string;
  /** The series' instances, for a model that stacks series. */
  instances?: number;
  /** An MlErrorCode. */
  code: string;
  message: string;
}

/**
 * What to run a model on: instances of the listed series, of the listed
 * modalities, or matching a compiled cohort filter (SQL over `instances`
 * with its parameters). Given together, all must hold.
 */
export interface JobSelection {
  seriesInstanceUIDs?: string[];
  modalities?: string[];
  where?: { sql: string; params: Array<string | number> };
}

/** Counters of a job. */
export interface JobProgress {
  /** Inputs selected. */
  total: number;
  /** Inputs handled so far (predicted, skipped or failed). */
  done: number;
  /** Inputs with predictions written by this job. */
  predicted: number;
  /** Inputs the same model (same SHA-256) had already predicted. */
  skipped: number;
  /**
   * Inputs that failed (see failures): instances, a failed series
   * counting each of its instances.
   */
  failed: number;
}

interface JobBase {
  id: string;
  /**
   * Who started it: the API user's name, or `cli:<login>` for `lpacs
   * predict`. Absent on a job from before jobs had owners.
   */
  owner?: string;
  model: { name: string; version: string; sha256: string };
  selection: JobSelection;
  createdAt: string;
  updatedAt: string;
  progress: JobProgress;
  /** The first failures (at most 1000 kept), with their reasons. */
  failures: InputFailure[];
}

/**
 * A prediction job as persisted in `state/jobs/<id>.json`, keyed on its
 * phase. `running` is also what a job stopped by a crash shows;
 * `interrupted` one its process stopped on purpose (a server's shutdown,
 * `lpacs predict` getting SIGINT or SIGTERM), not a cancel. Either is
 * resumed after the last committed input (resumeUnfinished, `lpacs
 * predict --resume`).
 */
export type JobState =
  | (JobBase & { phase: 'queued' | 'running' | 'interrupted' })
  | (JobBase & { phase: 'done'; finishedAt: string })
  | (JobBase & { phase: 'cancelled'; finishedAt: string })
  | (JobBase & { phase: 'failed'; finishedAt: string; error: string });

/** A job's phase. */
export type JobPhase = JobState['phase'];
