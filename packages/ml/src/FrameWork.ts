import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { imageOutcome, instanceSegmentation } from './imageOutcome';
import type { FrameMask, ImageOutcome, OutcomeContext } from './imageOutcome';
import type { JobInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';
import type { PredictionTarget } from './predictionRows';
import { preprocessFrame } from './preprocessFrame';
import type { FrameDecoder, Preprocessing } from './types';

/** One image of a run to turn into rows and masks (see imageOutcome). */
export interface FinishImage {
  target: PredictionTarget;
  /** The key of its single-frame source object, when a SEG is wanted. */
  segSource?: string;
}

/**
 * Where a job's frames are read and prepared, and its outputs turned into
 * rows and masks: FramePrep's worker thread, or frameWorkHere.
 */
export interface FrameWork {
  /**
   * The model inputs of an input's `frames`, in order.
   * @throws MlError UNDECODABLE (or BAD_INPUT) for a frame it cannot use.
   */
  prepare(input: JobInput, frames: readonly number[]): Promise<Float32Array[]>;
  /**
   * Each image's rows and mask objects, in order (imageOutcome); throws
   * if any image's cannot be made.
   */
  finish(
    ctx: OutcomeContext,
    images: FinishImage[],
    values: Float32Array[],
  ): Promise<ImageOutcome[]>;
  /**
   * A multi-frame image's masks as one DICOM SEG (instanceSegmentation),
   * its source read from `sourceKey`; undefined when it cannot have one.
   */
  segment(
    ctx: OutcomeContext,
    sopInstanceUID: string,
    sourceKey: string,
    frames: FrameMask[],
  ): Promise<{ key: string; bytes: Buffer } | undefined>;
}

/** Decodes (with `decode`) and preprocesses one frame. */
export async function prepareFrame(
  bytes: Uint8Array,
  frame: number,
  decode: FrameDecoder,
  pre: Preprocessing,
  channels: number,
): Promise<Float32Array> {
  let decoded;
  try {
    decoded = await decode(bytes, frame);
  } catch (err) {
    throw new MlError(
      MlErrorCode.Undecodable,
      `frame ${frame}: ${(err as Error).message}`,
    );
  }
  return preprocessFrame(decoded, pre, channels);
}

/**
 * Frames read, decoded with `decode` and preprocessed on this thread, and
 * outcomes made here one image per turn of the event loop (a batch at
 * once would hold an API's requests for tens of ms): for jobs given their
 * own decoder, as tests are.
 */
export function frameWorkHere(
  readObject: (key: string) => Promise<Uint8Array>,
  decode: FrameDecoder,
  pre: Preprocessing,
  channels: number,
): FrameWork {
  return {
    async prepare(input, frames) {
      const bytes = await readObject(input.object_key);
      const out: Float32Array[] = [];
      for (const frame of frames)
        out.push(await prepareFrame(bytes, frame, decode, pre, channels));
      return out;
    },
    async finish(ctx, images, values) {
      const out: ImageOutcome[] = [];
      for (const [i, img] of images.entries()) {
        if (i > 0) await yieldToEventLoop();
        const source = img.segSource
          ? await readObject(img.segSource)
          : undefined;
        out.push(imageOutcome(ctx, img.target, values[i]!, source));
      }
      return out;
    },
    async segment(ctx, sopInstanceUID, sourceKey, frames) {
      const source = await readObject(sourceKey);
      return instanceSegmentation(ctx, sopInstanceUID, source, frames);
    },
  };
}
