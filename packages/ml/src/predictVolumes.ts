import type { MaskNaming } from '@lpacs/lake';
import type { InputFailure, JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import type { OnnxModel } from './OnnxModel';
import type { ChunkResult } from './predictChunk';
import { seriesSegmentation } from './imageOutcome';
import { predictionRows } from './predictionRows';
import { nonFinite } from './nonFinite';
import { preprocessFrame } from './preprocessFrame';
import { slicePosition } from './slicePosition';
import { sampleSlices, stackSlices } from './stackSlices';
import type { FrameDecoder, Preprocessing, RegisteredModel } from './types';

/** The preprocessing of slice k: its own mean and std when given. */
function sliceStep(pre: Preprocessing, k: number): Preprocessing {
  const { mean, std } = pre.normalize;
  return {
    ...pre,
    normalize: {
      mean: [mean[mean.length === 1 ? 0 : k]!],
      std: [std[std.length === 1 ? 0 : k]!],
    },
  };
}

/**
 * One series' stacked input, and the objects of the slices stacked, in
 * order, each once; throws naming the instance at fault.
 */
async function stackSeries(
  instances: readonly JobInput[],
  model: OnnxModel,
  readObject: (key: string) => Promise<Uint8Array>,
  decode: FrameDecoder,
): Promise<{ tensor: Float32Array; slices: Uint8Array[] }> {
  const pre = model.manifest.preprocessing;
  const slices = pre.stack!.slices;
  const placed: Array<{ at: number; input: JobInput; bytes: Uint8Array }> = [];
  for (const input of instances) {
    try {
      const bytes = await readObject(input.object_key);
      placed.push({ at: slicePosition(bytes), input, bytes });
    } catch (err) {
      throw Object.assign(err as Error, { sop: input.SOPInstanceUID });
    }
  }
  placed.sort((a, b) => a.at - b.at);
  const indices = sampleSlices(placed.length, slices);
  const picked = indices.map((i) => placed[i]!);
  const planes: Float32Array[] = [];
  for (const [k, p] of picked.entries()) {
    try {
      const frame = await decode(p.bytes, 0).catch((err: Error) => {
        throw new MlError(MlErrorCode.Undecodable, err.message);
      });
      planes.push(preprocessFrame(frame, sliceStep(pre, k), 1));
    } catch (err) {
      throw Object.assign(err as Error, { sop: p.input.SOPInstanceUID });
    }
  }
  return {
    tensor: stackSlices(planes, pre.layout),
    // A short series repeats slices in the input; a SEG names each once.
    slices: [...new Set(indices)].map((i) => placed[i]!.bytes),
  };
}

/** A series that could not be predicted, for the job's failures. */
function seriesFailure(
  instances: readonly JobInput[],
  err: unknown,
  code: MlErrorCode,
): InputFailure {
  const e = err as Error & { sop?: string };
  return {
    SeriesInstanceUID: instances[0]!.SeriesInstanceUID,
    ...(e.sop ? { SOPInstanceUID: e.sop } : {}),
    instances: instances.length,
    code: err instanceof MlError ? err.code : code,
    message: String(e.message ?? err).slice(0, 300),
  };
}

/**
 * Runs a stacking model (manifest `preprocessing.stack`) over whole
 * series: each series' slices sorted by ImagePositionPatient, sampled and
 * stacked into one input, batched through the session pool. Rows are
 * series-level (no SOP Instance UID). A bad series is recorded, naming the
 * series, the instance at fault when one is, and how many instances the
 * series has (a job counts instances), and the rest go on; a batch
 * onnxruntime refuses is retried series by series. With `dicomSeg`, a series'
 * segmentation mask is also written as one DICOM SEG over the slices it
 * stacked (seriesSegmentation). Masks are named as `names` says.
 * @param series - the instances of each series, one list per series.
 * @param signal - once aborted, no further series is read or batch run:
 * the result is partial (the caller drops it).
 * @returns `predicted` lists the instances of predicted series.
 */
export async function predictVolumes(
  registered: RegisteredModel,
  model: OnnxModel,
  runId: string,
  series: readonly (readonly JobInput[])[],
  readObject: (key: string) => Promise<Uint8Array>,
  decode: FrameDecoder,
  names: MaskNaming,
  dicomSeg = false,
  signal?: AbortSignal,
): Promise<ChunkResult> {
  const result: ChunkResult = {
    rows: [],
    masks: [],
    predicted: [],
    failures: [],
  };
  const createdAt = new Date().toISOString();
  const ready: Array<{
    instances: readonly JobInput[];
    tensor: Float32Array;
    slices: Uint8Array[];
  }> = [];
  for (const instances of series) {
    if (signal?.aborted) break;
    try {
      ready.push({
        instances,
        ...(await stackSeries(instances, model, readObject, decode)),
      });
    } catch (err) {
      result.failures.push(
        seriesFailure(instances, err, MlErrorCode.Undecodable),
      );
    }
  }
  type Ready = (typeof ready)[number];
  const runBatch = async (batch: Ready[]): Promise<void> => {
    let out;
    try {
      out = await model.run(batch.map((b) => b.tensor));
    } catch (err) {
      if (batch.length === 1)
        result.failures.push(
          seriesFailure(batch[0]!.instances, err, MlErrorCode.InferenceFailed),
        );
      else for (const one of batch) await runBatch([one]);
      return;
    }
    batch.forEach((b, j) => {
      const first = b.instances[0]!;
      const bad = nonFinite(out.values[j]!);
      if (bad !== undefined) {
        result.failures.push(
          seriesFailure(
            b.instances,
            new MlError(MlErrorCode.NonFiniteOutput, bad),
            MlErrorCode.NonFiniteOutput,
          ),
        );
        return;
      }
      const p = predictionRows(
        registered,
        runId,
        {
          SOPInstanceUID: null,
          frame_index: null,
          SeriesInstanceUID: first.SeriesInstanceUID,
          StudyInstanceUID: first.StudyInstanceUID,
        },
        out.values[j]!,
        out.dims,
        createdAt,
        names,
      );
      result.rows.push(...p.rows);
      const uid = first.SeriesInstanceUID;
      if (p.mask) result.masks.push({ ...p.mask, uid });
      const seg =
        dicomSeg &&
        p.mask &&
        seriesSegmentation(
          { registered, runId, dims: out.dims, createdAt, names },
          first.SeriesInstanceUID,
          b.slices,
          p.mask,
        );
      if (seg) result.masks.push({ ...seg, uid });
      result.predicted.push(...b.instances.map((x) => x.SOPInstanceUID));
    });
  };
  for (let i = 0; i < ready.length && !signal?.aborted; i += model.maxBatch)
    await runBatch(ready.slice(i, i + model.maxBatch));
  return result;
}
