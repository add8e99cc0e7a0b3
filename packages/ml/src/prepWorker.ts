// Decodes and preprocesses frames, and turns outputs into rows and mask
// objects, off the main thread and niced like the sessions: a job's
// per-image work then no longer queues an API's requests on the event
// loop they share.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeFrame } from '@lpacs/pixels';
import { buffersOf } from './buffersOf';
import type { FinishRequest, PrepReply, PrepRequest } from './FramePrep';
import { imageOutcome } from './imageOutcome';
import { lowerPriority } from './lowerPriority';
import { MlError, MlErrorCode } from './MlError';
import { preprocessFrame } from './preprocessFrame';

lowerPriority((workerData as { niceness: number }).niceness);
const port = parentPort!;

async function prepare(req: PrepRequest): Promise<PrepReply> {
  let decoded;
  try {
    decoded = await decodeFrame(req.bytes, req.frame);
  } catch (err) {
    return {
      id: req.id,
      code: MlErrorCode.Undecodable,
      message: `frame ${req.frame}: ${(err as Error).message}`,
    };
  }
  try {
    return {
      id: req.id,
      tensor: preprocessFrame(decoded, req.pre, req.channels),
    };
  } catch (err) {
    return {
      id: req.id,
      code: err instanceof MlError ? err.code : MlErrorCode.Undecodable,
      message: (err as Error).message,
    };
  }
}

function finish(req: FinishRequest): PrepReply {
  try {
    const outcomes = req.images.map((img, i) => {
      const o = imageOutcome(
        req.ctx,
        img.target,
        req.values[i]!,
        img.segSource,
      );
      // Each mask copied into a buffer of its own, to transfer: a small
      // Buffer may be a slice of the pool other Buffers of this thread use.
      return {
        rows: o.rows,
        masks: o.masks.map((m) => ({
          key: m.key,
          bytes: new Uint8Array(m.bytes),
        })),
      };
    });
    return { id: req.id, outcomes };
  } catch (err) {
    return {
      id: req.id,
      code: MlErrorCode.InferenceFailed,
      message: (err as Error).message,
    };
  }
}

port.on('message', (req: PrepRequest | FinishRequest) => {
  void (
    req.kind === 'finish' ? Promise.resolve(finish(req)) : prepare(req)
  ).then((reply) => {
    const out = [
      ...(reply.tensor ? [reply.tensor] : []),
      ...(reply.outcomes ?? []).flatMap((o) => o.masks.map((m) => m.bytes)),
    ];
    port.postMessage(reply, buffersOf(out));
  });
});
