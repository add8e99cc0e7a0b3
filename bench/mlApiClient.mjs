// The API client of bench/ml.mjs, run in a worker thread so that its own
// event loop is not the one a prediction job keeps busy: it sees the API
// as a client on another machine would.
//
// workerData: { url, token, query, variables, count?, jobId?, pollMs }
//   count  send this many cohort requests one after another (idle)
//   jobId  send cohort requests until the job (polled through the API's
//          `job` query every pollMs, untimed) is done, cancelled or failed
// Posts { latencies: number[] (ms), phase?: string, polls: number }.
import { parentPort, workerData } from 'node:worker_threads';

const { url, token, query, variables, count, jobId, pollMs } = workerData;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function graphql(body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200)
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  const parsed = JSON.parse(text);
  if (parsed.errors?.length)
    throw new Error(`GraphQL error: ${parsed.errors[0].message}`);
  return parsed.data;
}

async function timedCohort() {
  const t0 = now();
  await graphql({ query, variables });
  return now() - t0;
}

const latencies = [];
let phase;
let polls = 0;
if (jobId === undefined) {
  for (let i = 0; i < count; i++) latencies.push(await timedCohort());
} else {
  const terminal = new Set(['done', 'cancelled', 'failed']);
  let polled = now();
  for (;;) {
    latencies.push(await timedCohort());
    if (now() - polled < pollMs) continue;
    polled = now();
    polls++;
    const { job } = await graphql({
      query: 'query Job($id: String!) { job(id: $id) { phase } }',
      variables: { id: jobId },
    });
    phase = job.phase;
    if (terminal.has(phase)) break;
  }
}
parentPort.postMessage({ latencies, phase, polls });
