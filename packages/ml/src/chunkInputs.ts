import type { JobInput } from './jobTypes';

/**
 * The end (exclusive) of the chunk of `inputs` starting at `start`: about
 * `every` inputs, extended to the end of a series when the model's unit is
 * a series (inputs are sorted by series). With `lastBatch`, a chunk of
 * instances that would end the job and hold more than `lastBatch` inputs
 * ends short of it at a multiple of `lastBatch` from `start` (so its
 * batches are the same), leaving a last chunk of at most `lastBatch`:
 * what the job does after its last inference is then one batch's masks
 * and commit, not a whole chunk's.
 */
export function chunkEnd(
  inputs: readonly JobInput[],
  start: number,
  every: number,
  bySeries: boolean,
  lastBatch = 0,
): number {
  let end = Math.min(inputs.length, start + every);
  if (!bySeries && lastBatch > 0 && end === inputs.length) {
    const batches = Math.ceil((end - start) / lastBatch);
    if (batches > 1) return start + (batches - 1) * lastBatch;
  }
  while (
    bySeries &&
    end < inputs.length &&
    inputs[end]!.SeriesInstanceUID === inputs[end - 1]!.SeriesInstanceUID
  )
    end++;
  return end;
}

/** Consecutive inputs of one series, together (inputs are series-sorted). */
export function groupBySeries(inputs: readonly JobInput[]): JobInput[][] {
  const out: JobInput[][] = [];
  for (const i of inputs) {
    const last = out[out.length - 1];
    if (last && last[0]!.SeriesInstanceUID === i.SeriesInstanceUID)
      last.push(i);
    else out.push([i]);
  }
  return out;
}
