import { isErasedInput } from './jobTypes';
import type { InputFailure, JobState, StoredInput } from './jobTypes';

/** The lake's identifiers an erasure removed, as its plan lists them. */
export interface ErasedIdentifiers {
  /** SOP Instance UIDs of the erased instances. */
  instances: Iterable<string>;
  /** Series and studies left with no instance. */
  series: Iterable<string>;
  studies: Iterable<string>;
  /** Object keys of the erased instances (and conflict versions). */
  objects: Iterable<string>;
  /** Pseudonyms of the patients and AccessionNumbers left with none. */
  patients?: Iterable<string>;
  accessions?: Iterable<string>;
}

/** What forgetting erased instances changed in one job. */
export interface ForgottenInJob {
  state: JobState;
  inputs: StoredInput[];
  /** Inputs removed (a finished job) or redacted (an unfinished one). */
  inputsForgotten: number;
  /** Failures, selected series, filter values and errors redacted. */
  otherForgotten: number;
}

/** Said of a failure of an input since erased, in place of its message. */
export const ERASED_FAILURE_MESSAGE =
  'an input since erased from the lake; its identifiers were removed with it';

/** Said of a job's error that named an input since erased. */
export const ERASED_ERROR_MESSAGE =
  'the job failed on an input since erased from the lake; the error named it and was removed with it';

/** What a filter's value that named erased data becomes. */
export const ERASED_VALUE = '(erased)';

/** Whether a job can still run: a terminal one never reads its inputs again. */
function finished(job: JobState): boolean {
  return (
    job.phase === 'done' || job.phase === 'cancelled' || job.phase === 'failed'
  );
}

/**
 * Whether free text (a failure's message, a job's error) names one of
 * `names`: UIDs and object keys are words of it, an object key possibly
 * at the end of a path.
 */
function names(text: string, erased: ReadonlySet<string>): boolean {
  for (const word of text.match(/[0-9A-Za-z._/-]+/g) ?? []) {
    const bare = word.replace(/\.+$/, '');
    if (erased.has(word) || erased.has(bare)) return true;
    const at = bare.indexOf('objects/');
    if (at > 0 && erased.has(bare.slice(at))) return true;
  }
  return false;
}

/**
 * A job's state and inputs with nothing left naming the erased
 * instances: their inputs are removed from a finished job's list, and
 * replaced in an unfinished one's by an ErasedInput at the same index (its
 * `progress.done` is a cursor into the list, and a resumed job counts the
 * entry as failed, INPUT_ERASED). Its counters are left as they are: they
 * count what the job did. A failure naming an erased instance or series
 * (or whose message does) keeps its code and count, not its UID or
 * message; an erased series leaves the selection's list; a filter value
 * naming erased data becomes `(erased)`; a job's error naming it is
 * replaced. The same job given again is returned unchanged.
 */
export function forgetErasedInJob(
  state: JobState,
  inputs: readonly StoredInput[],
  erased: ErasedIdentifiers,
): ForgottenInJob {
  const sops = new Set(erased.instances);
  const series = new Set(erased.series);
  // Every value that names erased data, for free text and filter values.
  const all = new Set<string>([
    ...sops,
    ...series,
    ...erased.studies,
    ...erased.objects,
    ...(erased.patients ?? []),
    ...(erased.accessions ?? []),
  ]);
  const gone = (i: StoredInput) =>
    !isErasedInput(i) && (sops.has(i.SOPInstanceUID) || all.has(i.object_key));
  let inputsForgotten = 0;
  const keep = finished(state);
  const nextInputs: StoredInput[] = [];
  for (const i of inputs) {
    if (!gone(i)) nextInputs.push(i);
    else {
      inputsForgotten++;
      if (!keep) nextInputs.push({ erased: true });
    }
  }
  let otherForgotten = 0;
  const failures = state.failures.map((f): InputFailure => {
    const named =
      (f.SOPInstanceUID !== undefined && all.has(f.SOPInstanceUID)) ||
      (f.SeriesInstanceUID !== undefined && all.has(f.SeriesInstanceUID)) ||
      names(f.message, all);
    if (!named) return f;
    otherForgotten++;
    return {
      code: f.code,
      ...(f.instances === undefined ? {} : { instances: f.instances }),
      message: ERASED_FAILURE_MESSAGE,
    };
  });
  const selection = { ...state.selection };
  if (selection.seriesInstanceUIDs) {
    const left = selection.seriesInstanceUIDs.filter((s) => !all.has(s));
    otherForgotten += selection.seriesInstanceUIDs.length - left.length;
    selection.seriesInstanceUIDs = left;
  }
  if (selection.where) {
    const params = selection.where.params.map((p) =>
      typeof p === 'string' && all.has(p) ? ERASED_VALUE : p,
    );
    otherForgotten += params.filter(
      (p, n) => p !== selection.where!.params[n],
    ).length;
    selection.where = { ...selection.where, params };
  }
  let next: JobState = { ...state, selection, failures };
  if (next.phase === 'failed' && names(next.error, all)) {
    otherForgotten++;
    next = { ...next, error: ERASED_ERROR_MESSAGE };
  }
  return {
    state: inputsForgotten + otherForgotten ? next : state,
    inputs: inputsForgotten ? nextInputs : [...inputs],
    inputsForgotten,
    otherForgotten,
  };
}
