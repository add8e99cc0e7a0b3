import { isErasedInput } from './jobTypes';
import type { JobInput, StoredInput } from './jobTypes';

/** An input's series; none for one an erasure redacted. */
function seriesOf(i: StoredInput): string | undefined {
  return isErasedInput(i) ? undefined : i.SeriesInstanceUID;
}

/**
 * The end (exclusive) of the chunk of `inputs` starting at `start`: about
 * `every` inputs, extended to the end of a series when the model's unit is
 * a series (inputs are sorted by series). With `lastBatch`, a chunk of
 * instances that would end the job and hold more than `lastBatch` inputs
 * ends short of it at a multiple of `lastBatch` from `start` (so its
 * batches are the same), leaving a last chunk of at most `lastBatch`:
 * what the job does after its last inference is then one batch's masks
 * and commit, not a whole chunk's. Entries an erasure redacted (see
 * ErasedInput) go with the series around them, so they never split one.
 */
export function chunkEnd(
  inputs: readonly StoredInput[],
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
  if (!bySeries) return end;
  // The series the chunk ends in: its last input's not redacted.
  let last: string | undefined;
  for (let k = end - 1; k >= start && last === undefined; k--)
    last = seriesOf(inputs[k]!);
  while (end < inputs.length) {
    const next = seriesOf(inputs[end]!);
    if (next !== undefined && next !== last) break;
    end++;
  }
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

/** How long the chunk before took, and what it held. */
export interface ChunkPace {
  inputs: number;
  /** From its first read to its outputs turned into rows. */
  seconds: number;
  /** Its mask objects' bytes, held until its commit. */
  maskBytes: number;
}

/**
 * The next chunk's size for a job that commits about every `seconds` of
 * work: at least `min` inputs, more for a model that predicts faster (each
 * commit holds the event loop for tens of ms: a model of a few ms an
 * image committed dozens of times a second), at most `maxInputs` and as
 * many as keep a chunk's masks under `maxMaskBytes`; a multiple of
 * `batch`, so a chunk's batches are those of one unbroken run.
 */
export function nextChunkSize(
  pace: ChunkPace,
  options: {
    min: number;
    seconds: number;
    batch: number;
    maxInputs: number;
    maxMaskBytes: number;
  },
): number {
  const perSecond = pace.inputs / Math.max(pace.seconds, 1e-3);
  const perInput = pace.maskBytes / Math.max(pace.inputs, 1);
  const byMasks = perInput > 0 ? options.maxMaskBytes / perInput : Infinity;
  const want = Math.min(
    perSecond * options.seconds,
    options.maxInputs,
    byMasks,
  );
  const batch = Math.max(1, options.batch);
  return Math.max(options.min, Math.floor(want / batch) * batch);
}
