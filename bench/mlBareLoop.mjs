// The bare loop of bench/ml.mjs, in a worker thread niced like a job's
// session threads (SessionOptions.niceness): on a machine other processes
// share, the scheduler then treats both loops alike, and the ratio is the
// pipeline's cost rather than the priorities'.
//
// workerData: { model, input, tensors: Float32Array[], dims, batch,
//   threads, niceness }
// Posts { seconds, warmSeconds, cpuSeconds, thread: { run, wait } } for one
// pass over the tensors on a fresh session (creation untimed), with this
// thread's seconds on a CPU and waiting for one, and a second, warm, pass.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerPriority } from '@lpacs/ml';
import ort from 'onnxruntime-node';

const { model, input, tensors, dims, batch, threads, niceness } = workerData;
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
/** This thread's time on a CPU and waiting for one, in s (Linux). */
const schedstat = () => {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8')
      .split(' ')
      .map(Number);
    return { run: run / 1e9, wait: wait / 1e9 };
  } catch {
    return { run: 0, wait: 0 };
  }
};

lowerPriority(niceness);
const per = tensors[0].length;
const pass = async (session) => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < tensors.length; i += batch) {
    const chunk = tensors.slice(i, i + batch);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach((x, j) => data.set(x, j * per));
    await session.run({
      [input]: new ort.Tensor('float32', data, [chunk.length, ...dims]),
    });
  }
  return seconds(t);
};
const session = await ort.InferenceSession.create(model, {
  executionProviders: ['cpu'],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
try {
  const cpu0 = process.cpuUsage();
  const thread0 = schedstat();
  const first = await pass(session);
  const thread1 = schedstat();
  const cpu = process.cpuUsage(cpu0);
  parentPort.postMessage({
    seconds: first,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    thread: {
      run: thread1.run - thread0.run,
      wait: thread1.wait - thread0.wait,
    },
    warmSeconds: await pass(session),
  });
} finally {
  await session.release();
}
