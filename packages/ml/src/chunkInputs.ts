import type { JobInput } from './jobTypes';

/**
 * The end (exclusive) of the chunk of `inputs` starting at `start`: about
 * `every` inputs, extended to the end of a series when the model's unit is
 * a series (inputs are sorted by series).
 */
export function chunkEnd(
  inputs: readonly JobInput[],
  start: number,
  every: number,
  bySeries: boolean,
): number {
  let end = Math.min(inputs.length, start + every);
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
