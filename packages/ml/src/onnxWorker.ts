// One onnxruntime session in a worker thread. onnxruntime-node runs a
// session on the calling thread, so a session on the main thread would stall
// every request an API serves beside a job for the length of a batch.
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { lowerPriority } from './lowerPriority';
import type { WorkerReply, WorkerRequest, WorkerStart } from './workerMessages';

const start = workerData as WorkerStart;
const port = parentPort!;

function metadata(meta: readonly InferenceSession.ValueMetadata[]) {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function main(): Promise<void> {
  lowerPriority(start.niceness);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(start.path, start.options);
  } catch (err) {
    port.postMessage({
      kind: 'failed',
      message: (err as Error).message,
    } satisfies WorkerReply);
    return;
  }
  port.postMessage({
    kind: 'ready',
    inputs: metadata(session.inputMetadata),
    outputs: metadata(session.outputMetadata),
  } satisfies WorkerReply);
  port.on('message', (req: WorkerRequest) => {
    if (req.kind === 'close') {
      void session.release().then(() => port.close());
      return;
    }
    session
      .run({ [req.input]: new Tensor('float32', req.data, req.dims) })
      .then((out) => {
        const t = out[req.output] as Tensor;
        const data = t.data as Float32Array;
        port.postMessage(
          { kind: 'result', id: req.id, data, dims: [...t.dims] },
          [data.buffer as ArrayBuffer],
        );
      })
      .catch((err: Error) =>
        port.postMessage({
          kind: 'error',
          id: req.id,
          message: err.message,
        } satisfies WorkerReply),
      );
  });
}

void main();
