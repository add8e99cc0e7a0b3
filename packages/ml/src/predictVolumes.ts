import type { MaskNaming } from '@lpacs/lake';
import type { JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import type { OnnxModel } from './OnnxModel';
import type { ChunkResult } from './predictChunk';
import { seriesSegmentation } from './imageOutcome';
import { predictionRows } from './predictionRows';
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
    const bytes = await readObject(input.object_key);
    try {
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

/**
 * Runs a stacking model (manifest `preprocessing.stack`) over whole
 * series: each series' slices sorted by ImagePositionPatient, sampled and
 * stacked into one input, batched through the session pool. Rows are
 * series-level (no SOP Instance UID). A bad series is recorded, naming the
 * instance at fault, and the rest go on. With `dicomSeg`, a series'
 * segmentation mask is also written as one DICOM SEG over the slices it
 * stacked (seriesSegmentation). Masks are named as `names` says.
 * @param series - the instances of each series, one list per series.
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
    const first = instances[0]!;
    try {
      ready.push({
        instances,
        ...(await stackSeries(instances, model, readObject, decode)),
      });
    } catch (err) {
      const e = err as Error & { code?: string; sop?: string };
      result.failures.push({
        SeriesInstanceUID: first.SeriesInstanceUID,
        ...(e.sop ? { SOPInstanceUID: e.sop } : {}),
        code: err instanceof MlError ? err.code : MlErrorCode.Undecodable,
        message: e.message.slice(0, 300),
      });
    }
  }
  for (let i = 0; i < ready.length; i += model.maxBatch) {
    const batch = ready.slice(i, i + model.maxBatch);
    const out = await model.run(batch.map((b) => b.tensor));
    batch.forEach((b, j) => {
      const first = b.instances[0]!;
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
      if (p.mask) result.masks.push(p.mask);
      const seg =
        dicomSeg &&
        p.mask &&
        seriesSegmentation(
          { registered, runId, dims: out.dims, createdAt, names },
          first.SeriesInstanceUID,
          b.slices,
          p.mask,
        );
      if (seg) result.masks.push(seg);
      result.predicted.push(...b.instances.map((x) => x.SOPInstanceUID));
    });
  }
  return result;
}
