// Reads objects, decodes and preprocesses their frames, and turns outputs
// into rows and mask objects, off the main thread and niced like the
// sessions: a job's per-image work then no longer queues an API's
// requests on the event loop they share.
import { parentPort, workerData } from 'node:worker_threads';
import { readObject } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { buffersOf } from './buffersOf';
import type { FinishRequest, PrepReply, PrepRequest } from './FramePrep';
import { prepareFrame } from './FrameWork';
import { imageOutcome } from './imageOutcome';
import { lowerPriority } from './lowerPriority';
import { MlError, MlErrorCode } from './MlError';

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
    const bytes = await readObject(req.root, req.key);
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
        ? await readObject(req.root, img.segSource)
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

port.on('message', (req: PrepRequest | FinishRequest) => {
  void (req.kind === 'finish' ? finish(req) : prepare(req)).then((reply) => {
    const out = [
      ...(reply.tensors ?? []),
      ...(reply.outcomes ?? []).flatMap((o) => o.masks.map((m) => m.bytes)),
    ];
    port.postMessage(reply, buffersOf(out));
  });
});
