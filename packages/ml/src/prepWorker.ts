// Reads objects, decodes and preprocesses their frames, and turns outputs
// into rows and mask objects, off the main thread and niced like the
// sessions: a job's per-image work then no longer queues an API's
// requests on the event loop they share.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeFrame } from '@lpacs/pixels';
import { buffersOf } from './buffersOf';
import type {
  FinishRequest,
  PrepReply,
  PrepRequest,
  SegmentRequest,
} from './FramePrep';
import { prepareFrame } from './FrameWork';
import { imageOutcome, instanceSegmentation } from './imageOutcome';
import { lowerPriority } from './lowerPriority';
import { MlError, MlErrorCode } from './MlError';
import { readInputObject } from './readInputObject';

lowerPriority((workerData as { niceness: number }).niceness);
const port = parentPort!;

function failed(id: number, err: unknown, code: MlErrorCode): PrepReply {
  return {
    id,
    code: err instanceof MlError ? err.code : code,
    message: (err as Error).message,
  };
}

async function prepare(req: PrepRequest): Promise<PrepReply> {
  try {
    const bytes = await readInputObject(req.root, req.key);
    const tensors: Float32Array[] = [];
    for (const frame of req.frames)
      tensors.push(
        await prepareFrame(bytes, frame, decodeFrame, req.pre, req.channels),
      );
    return { id: req.id, tensors };
  } catch (err) {
    return failed(req.id, err, MlErrorCode.Undecodable);
  }
}

async function finish(req: FinishRequest): Promise<PrepReply> {
  try {
    const outcomes = [];
    for (const [i, img] of req.images.entries()) {
      const source = img.segSource
        ? await readInputObject(req.root, img.segSource)
        : undefined;
      const o = imageOutcome(req.ctx, img.target, req.values[i]!, source);
      // Each mask copied into a buffer of its own, to transfer: a small
      // Buffer may be a slice of the pool other Buffers of this thread use.
      outcomes.push({
        rows: o.rows,
        masks: o.masks.map((m) => ({
          key: m.key,
          bytes: new Uint8Array(m.bytes),
        })),
      });
    }
    return { id: req.id, outcomes };
  } catch (err) {
    return failed(req.id, err, MlErrorCode.InferenceFailed);
  }
}

async function segment(req: SegmentRequest): Promise<PrepReply> {
  try {
    const source = await readInputObject(req.root, req.sourceKey);
    const seg = instanceSegmentation(
      req.ctx,
      req.sopInstanceUID,
      source,
      req.frames,
    );
    // Copied into a buffer of its own, to transfer (see finish).
    return {
      id: req.id,
      segment: seg ? { key: seg.key, bytes: new Uint8Array(seg.bytes) } : null,
    };
  } catch (err) {
    return failed(req.id, err, MlErrorCode.InferenceFailed);
  }
}

function handle(
  req: PrepRequest | FinishRequest | SegmentRequest,
): Promise<PrepReply> {
  if (req.kind === 'finish') return finish(req);
  if (req.kind === 'segment') return segment(req);
  return prepare(req);
}

port.on('message', (req: PrepRequest | FinishRequest | SegmentRequest) => {
  void handle(req).then((reply) => {
    const out = [
      ...(reply.tensors ?? []),
      ...(reply.outcomes ?? []).flatMap((o) => o.masks.map((m) => m.bytes)),
      ...(reply.segment ? [reply.segment.bytes] : []),
    ];
    port.postMessage(reply, buffersOf(out));
  });
});
