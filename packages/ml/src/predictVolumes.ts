import type { JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import type { OnnxModel } from './OnnxModel';
import type { ChunkResult } from './predictChunk';
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

/** One series' stacked input; throws naming the instance at fault. */
async function stackSeries(
  instances: readonly JobInput[],
  model: OnnxModel,
  readObject: (key: string) => Promise<Uint8Array>,
  decode: FrameDecoder,
): Promise<Float32Array> {
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
  const picked = sampleSlices(placed.length, slices).map((i) => placed[i]!);
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
  return stackSlices(planes, pre.layout);
}

/**
 * Runs a stacking model (manifest `preprocessing.stack`) over whole
 * series: each series' slices sorted by ImagePositionPatient, sampled and
 * stacked into one input, batched through the session pool. Rows are
 * series-level (no SOP Instance UID). A bad series is recorded, naming the
 * instance at fault, and the rest go on.
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
): Promise<ChunkResult> {
  const result: ChunkResult = {
    rows: [],
    masks: [],
    predicted: [],
    failures: [],
  };
  const createdAt = new Date().toISOString();
  const ready: Array<{ instances: readonly JobInput[]; tensor: Float32Array }> =
    [];
  for (const instances of series) {
    const first = instances[0]!;
    try {
      ready.push({
        instances,
        tensor: await stackSeries(instances, model, readObject, decode),
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
      );
      result.rows.push(...p.rows);
      if (p.mask) result.masks.push(p.mask);
      result.predicted.push(...b.instances.map((x) => x.SOPInstanceUID));
    });
  }
  return result;
}
