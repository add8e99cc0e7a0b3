import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Row } from '@lpacs/lake';
import type { FinishImage } from './FramePrep';
import { framesOf } from './framesOf';
import { imageOutcome } from './imageOutcome';
import type { ImageOutcome, OutcomeContext } from './imageOutcome';
import { InFlightLimit } from './InFlightLimit';
import type { InputFailure, JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import type { OnnxModel } from './OnnxModel';
import { preprocessFrame } from './preprocessFrame';
import type { FrameDecoder, RegisteredModel } from './types';

/** What a chunk of inputs gave. */
export interface ChunkResult {
  rows: Row[];
  masks: Array<{ key: string; bytes: Buffer }>;
  /** SOP Instance UIDs with every selected frame predicted. */
  predicted: string[];
  failures: InputFailure[];
}

interface Image {
  input: JobInput;
  /** The source object, for a DICOM SEG beside a mask. */
  bytes: Uint8Array;
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

/**
 * The model input of one frame of an object.
 * @throws MlError UNDECODABLE for a frame that cannot be decoded.
 */
export type FramePreparer = (
  bytes: Uint8Array,
  frame: number,
) => Promise<Float32Array>;

/**
 * A preparer that decodes with `decode` and preprocesses on this thread
 * (jobs given their own decoder; otherwise FramePrep's worker does it).
 */
export function preparerOf(
  decode: FrameDecoder,
  model: OnnxModel,
): FramePreparer {
  return async (bytes, frame) => {
    let decoded;
    try {
      decoded = await decode(bytes, frame);
    } catch (err) {
      throw new MlError(
        MlErrorCode.Undecodable,
        `frame ${frame}: ${(err as Error).message}`,
      );
    }
    return preprocessFrame(
      decoded,
      model.manifest.preprocessing,
      model.channels,
    );
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
  /** Where a run's outputs become rows and masks; default this thread. */
  finish?: BatchFinisher;
}

/**
 * Turns a run's outputs (one per image) into each image's rows and masks,
 * in order; throws if any image's cannot be made.
 */
export type BatchFinisher = (
  ctx: OutcomeContext,
  images: FinishImage[],
  values: Float32Array[],
) => Promise<ImageOutcome[]>;

/**
 * The outcomes made on this thread, one image per turn of the event loop:
 * a batch at once would hold an API's requests waiting for tens of ms.
 */
export const finishHere: BatchFinisher = async (ctx, images, values) => {
  const out: ImageOutcome[] = [];
  for (const [i, img] of images.entries()) {
    if (i > 0) await yieldToEventLoop();
    out.push(imageOutcome(ctx, img.target, values[i]!, img.segSource));
  }
  return out;
};

/** Reads an input's frames and preprocesses them; throws on a bad one. */
async function images(
  input: JobInput,
  readObject: (key: string) => Promise<Uint8Array>,
  model: OnnxModel,
  prepare: FramePreparer,
): Promise<Image[]> {
  const bytes = await readObject(input.object_key);
  const pre = model.manifest.preprocessing;
  const out: Image[] = [];
  for (const frame of framesOf(pre.frames, input.NumberOfFrames))
    out.push({ input, bytes, frame, tensor: await prepare(bytes, frame) });
  return out;
}

/**
 * Runs a model over a few inputs: reads and decodes each, batches the
 * images through the session pool (up to its size at once), and turns the
 * outputs into rows. A bad input is recorded and the rest go on; a batch
 * onnxruntime refuses is retried image by image to find the bad one. With
 * `dicomSeg`, a segmentation mask of a single-frame image is also written
 * as a DICOM Segmentation object. Inputs are read and prepared up to a
 * batch ahead, and a batch is sent as soon as `pipeline.slots` has room.
 */
export async function predictChunk(
  registered: RegisteredModel,
  model: OnnxModel,
  runId: string,
  inputs: readonly JobInput[],
  readObject: (key: string) => Promise<Uint8Array>,
  prepare: FramePreparer,
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
  const runBatch = async (batch: Image[]): Promise<void> => {
    try {
      const out = await model.run(batch.map((b) => b.tensor));
      const outcomes = await finish(
        { registered, runId, dims: out.dims, createdAt },
        batch.map((img) => ({
          target: {
            SOPInstanceUID: img.input.SOPInstanceUID,
            frame_index: img.frame,
            SeriesInstanceUID: img.input.SeriesInstanceUID,
            StudyInstanceUID: img.input.StudyInstanceUID,
          },
          segSource:
            dicomSeg && img.input.NumberOfFrames === 1 ? img.bytes : undefined,
        })),
        out.values,
      );
      // Kept only once the whole batch is made: a batch that fails is
      // tried again image by image.
      outcomes.forEach((o, i) => {
        const uid = batch[i]!.input.SOPInstanceUID;
        result.rows.push(...o.rows);
        for (const mask of o.masks) masks.push({ uid, mask });
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
  const finish = pipeline.finish ?? finishHere;
  const sent: Array<Promise<void>> = [];
  let pending: Image[] = [];
  const send = async (): Promise<void> => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    await slots.acquire();
    sent.push(runBatch(batch).finally(() => slots.release()));
  };
  // Reads and preparations run up to a batch of inputs ahead of the one
  // awaited, so the frame worker goes on while this thread waits for room
  // at the sessions.
  const ahead = Math.max(1, model.maxBatch);
  const loads = new Map<number, Promise<Image[]>>();
  const load = (k: number): void => {
    if (k >= inputs.length || loads.has(k)) return;
    const p = images(inputs[k]!, readObject, model, prepare);
    p.catch(() => undefined); // awaited below, in order
    loads.set(k, p);
  };
  try {
    for (const [k, input] of inputs.entries()) {
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
  // An input with one failed frame has its other frames' rows dropped, so
  // a rerun predicts it whole.
  result.rows = result.rows.filter(
    (r) => !failed.has(r.SOPInstanceUID as string),
  );
  result.masks = masks.filter((m) => !failed.has(m.uid)).map((m) => m.mask);
  result.predicted = inputs
    .map((i) => i.SOPInstanceUID)
    .filter((uid) => !failed.has(uid));
  return result;
}
