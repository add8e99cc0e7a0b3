import type { JobState } from './jobTypes';

/**
 * What an audit entry of a job says about it (`model.run`,
 * `model.cancel`): the model's identity, what was selected as counts
 * (series listed, modalities listed, whether a cohort filter was given,
 * or `all` for a job over every image of the lake; never a UID, modality
 * or filter value) and how many images that made.
 * The entry's target is the job's id, whose state holds the rest.
 */
export function jobAuditDetail(
  job: JobState,
): Record<string, string | number | boolean> {
  const s = job.selection;
  return {
    model: job.model.name,
    version: job.model.version,
    sha256: job.model.sha256,
    ...(s.seriesInstanceUIDs ? { series: s.seriesInstanceUIDs.length } : {}),
    ...(s.modalities ? { modalities: s.modalities.length } : {}),
    ...(s.where ? { filter: true } : {}),
    ...(!s.seriesInstanceUIDs && !s.modalities && !s.where
      ? { all: true }
      : {}),
    inputs: job.progress.total,
  };
}
