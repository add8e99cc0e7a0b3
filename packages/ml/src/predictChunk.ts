import type { MaskNaming, Row } from '@lpacs/lake';
import { framesOf } from './framesOf';
import type { FrameWork } from './FrameWork';
import type { FrameMask, OutcomeContext } from './imageOutcome';
import { InFlightLimit } from './InFlightLimit';
import type { InputFailure, JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import { nonFinite } from './nonFinite';
import type { OnnxModel } from './OnnxModel';
import type { RegisteredModel } from './types';

/** What a chunk of inputs gave. */
export interface ChunkResult {
  rows: Row[];
  /**
   * Mask files, each with the UID of the instance (a stacking model's:
   * the series) it was made from, which its name may not tell (keyed).
   */
  masks: Array<{ key: string; bytes: Buffer; uid: string }>;
  /** SOP Instance UIDs with every selected frame predicted. */
  predicted: string[];
  failures: InputFailure[];
}

interface Image {
  input: JobInput;
  frame: number;
  tensor: Float32Array;
}

function failure(input: JobInput, err: unknown, code: MlErrorCode) {
  return {
    SOPInstanceUID: input.SOPInstanceUID,
    code: err instanceof MlError ? err.code : code,
    message: (err as Error).message?.slice(0, 300) ?? String(err),
  };
}

/** How a chunk shares its model with the chunks before and after it. */
export interface ChunkPipeline {
  /**
   * Batches sent and not yet turned into rows, across chunks; default
   * this chunk's own, up to the model's capacity.
   */
  slots?: InFlightLimit;
  /** Called once the chunk's last batch is sent (or it had none). */
  onSent?: () => void;
  /**
   * Once aborted, no further batch is sent: the chunk ends after the
   * batches under way, its result partial (the caller drops it).
   */
  signal?: AbortSignal;
}

/**
 * Runs a model over a few inputs: reads and decodes each, batches the
 * images through the session pool (up to its size at once), and turns the
 * outputs into rows. A bad input is recorded and the rest go on; a batch
 * onnxruntime refuses is retried image by image to find the bad one. With
 * `dicomSeg`, a segmentation mask of a single-frame image is also written
 * as a DICOM Segmentation object, and the masks of a multi-frame image's
 * frames as one, once all its frames are predicted. Inputs are read and prepared up to a
 * batch ahead, and a batch is sent as soon as `pipeline.slots` has room.
 * Masks are named as `names` says (maskNaming of the job's lake).
 */
export async function predictChunk(
  registered: RegisteredModel,
  model: OnnxModel,
  runId: string,
  inputs: readonly JobInput[],
  frames: FrameWork,
  names: MaskNaming,
  dicomSeg = false,
  pipeline: ChunkPipeline = {},
): Promise<ChunkResult> {
  const result: ChunkResult = {
    rows: [],
    masks: [],
    predicted: [],
    failures: [],
  };
  const failed = new Set<string>();
  const masks: Array<{ uid: string; mask: { key: string; bytes: Buffer } }> =
    [];
  const createdAt = new Date().toISOString();
  // A multi-frame image's .npy masks, by SOP Instance UID, for its SEG.
  const frameMasks = new Map<
    string,
    { input: JobInput; frames: FrameMask[] }
  >();
  let segCtx: OutcomeContext | undefined;
  const runBatch = async (batch: Image[]): Promise<void> => {
    try {
      const all = await model.run(batch.map((b) => b.tensor));
      // An image whose output is not all finite fails its input; the rest
      // of the batch goes on.
      const kept: Image[] = [];
      const values: Float32Array[] = [];
      batch.forEach((img, i) => {
        const v = all.values[i]!;
        const bad = nonFinite(v);
        if (bad === undefined) {
          kept.push(img);
          values.push(v);
          return;
        }
        const uid = img.input.SOPInstanceUID;
        if (failed.has(uid)) return;
        failed.add(uid);
        result.failures.push({
          SOPInstanceUID: uid,
          code: MlErrorCode.NonFiniteOutput,
          message:
            img.input.NumberOfFrames === 1 ? bad : `frame ${img.frame}: ${bad}`,
        });
      });
      if (!kept.length) return;
      const out = { dims: all.dims, values };
      const ctx = { registered, runId, dims: out.dims, createdAt, names };
      const outcomes = await frames.finish(
        ctx,
        kept.map((img) => ({
          target: {
            SOPInstanceUID: img.input.SOPInstanceUID,
            frame_index: img.frame,
            SeriesInstanceUID: img.input.SeriesInstanceUID,
            StudyInstanceUID: img.input.StudyInstanceUID,
          },
          segSource:
            dicomSeg && img.input.NumberOfFrames === 1
              ? img.input.object_key
              : undefined,
        })),
        out.values,
      );
      // Kept only once the whole batch is made: a batch that fails is
      // tried again image by image.
      outcomes.forEach((o, i) => {
        const { input, frame } = kept[i]!;
        const uid = input.SOPInstanceUID;
        result.rows.push(...o.rows);
        for (const mask of o.masks) masks.push({ uid, mask });
        const npy = o.masks[0];
        if (dicomSeg && input.NumberOfFrames !== 1 && npy) {
          segCtx ??= ctx;
          const seen = frameMasks.get(uid) ?? { input, frames: [] };
          seen.frames.push({ frame, npy: npy.bytes });
          frameMasks.set(uid, seen);
        }
      });
    } catch (err) {
      if (batch.length === 1) {
        const input = batch[0]!.input;
        if (failed.has(input.SOPInstanceUID)) return;
        failed.add(input.SOPInstanceUID);
        result.failures.push(failure(input, err, MlErrorCode.InferenceFailed));
        return;
      }
      for (const one of batch) await runBatch([one]);
    }
  };
  const slots = pipeline.slots ?? new InFlightLimit(model.capacity);
  const sent: Array<Promise<void>> = [];
  let pending: Image[] = [];
  const send = async (): Promise<void> => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    await slots.acquire();
    if (pipeline.signal?.aborted) {
      slots.release();
      return;
    }
    sent.push(runBatch(batch).finally(() => slots.release()));
  };
  // Reads and preparations run up to a batch of inputs ahead of the one
  // awaited, so the frame worker goes on while this thread waits for room
  // at the sessions.
  const ahead = Math.max(1, model.maxBatch);
  const loads = new Map<number, Promise<Image[]>>();
  const load = (k: number): void => {
    if (k >= inputs.length || loads.has(k)) return;
    const input = inputs[k]!;
    const selected = framesOf(
      model.manifest.preprocessing.frames,
      input.NumberOfFrames,
    );
    const p = frames
      .prepare(input, selected)
      .then((tensors) =>
        tensors.map((tensor, i) => ({ input, frame: selected[i]!, tensor })),
      );
    p.catch(() => undefined); // awaited below, in order
    loads.set(k, p);
  };
  try {
    for (const [k, input] of inputs.entries()) {
      if (pipeline.signal?.aborted) break;
      for (let j = k; j <= k + ahead; j++) load(j);
      let imgs: Image[];
      try {
        imgs = await loads.get(k)!;
      } catch (err) {
        failed.add(input.SOPInstanceUID);
        result.failures.push(failure(input, err, MlErrorCode.Undecodable));
        continue;
      } finally {
        loads.delete(k);
      }
      for (const img of imgs) {
        pending.push(img);
        if (pending.length >= model.maxBatch) await send();
      }
    }
    await send();
  } finally {
    pipeline.onSent?.();
  }
  await Promise.all(sent);
  // Each multi-frame image predicted whole gets one SEG over its frames,
  // in frame order; one that cannot have a SEG keeps its .npy masks.
  await Promise.all(
    [...frameMasks].map(async ([uid, { input, frames: planes }]) => {
      if (failed.has(uid) || !segCtx) return;
      planes.sort((a, b) => a.frame - b.frame);
      const seg = await frames
        .segment(segCtx, uid, input.object_key, planes)
        .catch(() => undefined);
      if (seg) masks.push({ uid, mask: seg });
    }),
  );
  // An input with one failed frame has its other frames' rows dropped, so
  // a rerun predicts it whole.
  result.rows = result.rows.filter(
    (r) => !failed.has(r.SOPInstanceUID as string),
  );
  result.masks = masks
    .filter((m) => !failed.has(m.uid))
    .map((m) => ({ ...m.mask, uid: m.uid }));
  result.predicted = inputs
    .map((i) => i.SOPInstanceUID)
    .filter((uid) => !failed.has(uid));
  return result;
}
