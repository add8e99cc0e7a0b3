// Decodes and preprocesses frames off the main thread, niced like the
// sessions: a job's per-image work then no longer queues an API's
// requests on the event loop they share.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeFrame } from '@lpacs/pixels';
import { lowerPriority } from './lowerPriority';
import { MlError, MlErrorCode } from './MlError';
import { preprocessFrame } from './preprocessFrame';
import type { PrepReply, PrepRequest } from './FramePrep';

lowerPriority((workerData as { niceness: number }).niceness);
const port = parentPort!;

port.on('message', (req: PrepRequest) => {
  void (async (): Promise<PrepReply> => {
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
  })().then((reply) =>
    port.postMessage(
      reply,
      reply.tensor ? [reply.tensor.buffer as ArrayBuffer] : [],
    ),
  );
});
