// One onnxruntime session in a worker thread. onnxruntime-node runs a
// session on the calling thread, so a session on the main thread would stall
// every request an API serves beside a job for the length of a batch.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { lowerPriority } from './lowerPriority';
import type { WorkerReply, WorkerRequest, WorkerStart } from './workerMessages';

type RunRequest = Extract<WorkerRequest, { kind: 'run' }>;

const start = workerData as WorkerStart;
const port = parentPort!;

function metadata(meta: readonly InferenceSession.ValueMetadata[]) {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function runOne(
  session: InferenceSession,
  req: RunRequest,
): Promise<WorkerReply> {
  const startedAt = performance.timeOrigin + performance.now();
  try {
    const out = await session.run({
      [req.input]: new Tensor('float32', req.data, req.dims),
    });
    const t = out[req.output] as Tensor;
    return {
      kind: 'result',
      id: req.id,
      data: t.data as Float32Array,
      dims: [...t.dims],
      startedAt,
      endedAt: performance.timeOrigin + performance.now(),
    };
  } catch (err) {
    return { kind: 'error', id: req.id, message: (err as Error).message };
  }
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
  // Runs queue here, one after another: the next batch is already in this
  // thread when one ends, so the session does not wait for a reply to
  // reach the main thread and a new batch to come back.
  const queue: RunRequest[] = [];
  let running = false;
  let closing = false;
  const next = async (): Promise<void> => {
    running = true;
    for (let req = queue.shift(); req; req = queue.shift()) {
      const reply = await runOne(session, req);
      port.postMessage(
        reply,
        reply.kind === 'result' ? [reply.data.buffer as ArrayBuffer] : [],
      );
    }
    running = false;
    if (closing) await session.release().then(() => port.close());
  };
  port.on('message', (req: WorkerRequest) => {
    if (req.kind === 'close') {
      closing = true;
      if (!running) void session.release().then(() => port.close());
      return;
    }
    queue.push(req);
    if (!running) void next();
  });
}

void main();
