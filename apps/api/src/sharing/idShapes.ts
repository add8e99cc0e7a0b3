import { Action } from '@lpacs/access';

/** The ids SharingStore gives share requests. */
export const SHARE_ID = /^sh_[0-9a-f]{16}$/;
/** The ids SharingStore gives saved cohorts. */
export const COHORT_ID = /^co_[0-9a-f]{16}$/;
/** The ids buildRelease gives releases. */
export const RELEASE_ID = /^rel_[0-9a-f]{16}$/;
/** The ids PredictionJobs gives jobs (newBatchId's). */
export const JOB_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

/** Which argument names the share, release or job an action is about. */
const NAMED_BY: Partial<Record<Action, RegExp>> = {
  [Action.ShareDecide]: SHARE_ID,
  [Action.ShareRevoke]: SHARE_ID,
  [Action.ReleaseDownload]: RELEASE_ID,
  [Action.ModelCancel]: JOB_ID,
};

/**
 * The share, release or job id an action's `id` argument names, for its audit
 * entry; undefined for any other action or an argument of another shape
 * (free text the caller typed, which stays out of the log).
 */
export function namedId(
  action: Action,
  args: Record<string, unknown>,
): string | undefined {
  const shape = NAMED_BY[action];
  const id = args.id;
  return shape && typeof id === 'string' && shape.test(id) ? id : undefined;
}
