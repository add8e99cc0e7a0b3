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
import { graphqlRequest } from './graphql.mjs';

const { url, token, query, variables, count, jobId, pollMs } = workerData;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function graphql(body) {
  return (await graphqlRequest(url, token, body.query, body.variables)).data;
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
