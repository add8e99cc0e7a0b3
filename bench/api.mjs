#!/usr/bin/env node
// Measures the cohort API against issue #5's speed targets on a synthetic
// lake, in one run:
//   1. lake     builds (or reuses) datasets/cache/bench-lake-<N>: N synthetic
//               instances with the patients, studies and series tables that
//               match them, written straight to Parquet
//   2. latency  a fixed, seeded set of cohort filters, each one request for
//               counts and all six facets, on the API in this process
//               (127.0.0.1, a random port): p50 and p95
//   3. direct   the same SQL statements (taken from the API's own
//               CohortQueries) on a bare DuckDB with views like the API's
//               Catalog: the API's overhead as API/direct
//   4. load     C clients (in a worker thread) loop random filters of the
//               set for S seconds: requests/s, p50/p95/p99, errors
//
// Usage: node bench/api.mjs [--instances N] [--filters F] [--rounds R]
//   [--seconds S] [--clients C] [--seed K] [--rebuild] [--json]
//
// All data is synthetic: pseudonyms, UIDs and hashes are derived from row
// numbers; nothing comes from a real patient.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { graphqlRequest } from './graphql.mjs';
import {
  Worker,
  isMainThread,
  parentPort,
  workerData,
} from 'node:worker_threads';

const QUERY = `query Bench($filter: CohortFilter) {
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

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

/** Sends one cohort request; resolves to its latency (ms) or throws. */
async function cohortRequest(url, token, filter) {
  const { data, ms } = await graphqlRequest(url, token, QUERY, { filter });
  return { ms, data: data.cohort };
}

/** A small seeded PRNG (mulberry32), so every run asks the same things. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '1000000' },
      filters: { type: 'string', default: '40' },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '30' },
      clients: { type: 'string', default: '50' },
      seed: { type: 'string', default: '5' },
      rebuild: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const N = Number(values.instances);
  const filterCount = Number(values.filters);
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  const seed = Number(values.seed);
  for (const [k, v] of Object.entries({
    N,
    filterCount,
    rounds,
    clients,
    seed,
  }))
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${k} must be a positive integer`);
  if (!(seconds > 0)) throw new Error('--seconds must be positive');
  const log = (line) => values.json || process.stderr.write(line + '\n');

  const { AccessStore, Role } = await import('@lpacs/access');
  const { startServer } = await import('@lpacs/api');
  // The API's own SQL builders (compiled), so the direct run executes
  // exactly the statements the resolvers run.
  const { compileFilter } =
    await import('@lpacs/api/dist/cohort/compileFilter.js');
  const { CohortQueries } =
    await import('@lpacs/api/dist/cohort/CohortQueries.js');
  const { DuckDBInstance } = await import('@duckdb/node-api');

  // ---- 1. the lake ----
  const lake = join(root, 'datasets', 'cache', `bench-lake-${N}`);
  const t0 = now();
  const built = await ensureLake(lake, N, values.rebuild, DuckDBInstance);
  const lakeSeconds = (now() - t0) / 1000;
  log(
    `== lake ${lake}: ${built.reused ? 'reused' : 'built'} in ${lakeSeconds.toFixed(1)} s ` +
      `(${fmtInt(built.counts.patients)} patients, ${fmtInt(built.counts.studies)} studies, ` +
      `${fmtInt(built.counts.series)} series, ${fmtInt(built.counts.instances)} instances, ` +
      `${(built.parquetBytes / 1e6).toFixed(1)} MB Parquet)`,
  );

  const store = new AccessStore(lake);
  if (!store.user('bench')) await store.addUser('bench', Role.Researcher);
  const { token } = await store.issueToken('bench', {
    label: 'bench/api.mjs',
    expiresInDays: 1,
  });

  const filters = makeFilters(filterCount, seed);
  const server = await startServer({ lake, port: 0, host: '127.0.0.1' });
  const { ROLLUP_COLUMNS } = await import('@lpacs/lake');
  const direct = await DirectDuckDB.open(lake, DuckDBInstance, ROLLUP_COLUMNS);
  const result = {
    command: `node bench/api.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machineNotes(),
    lake: {
      path: lake,
      reused: built.reused,
      seconds: lakeSeconds,
      ...built.counts,
      parquetBytes: built.parquetBytes,
    },
    filters: filterCount,
    rounds,
  };
  try {
    // ---- 2 and 3. latency, API then direct for each filter, interleaved ----
    const statements = await Promise.all(
      filters.map((f) => sqlOf(f, compileFilter, CohortQueries)),
    );
    log(`== warm-up: every filter once through the API and once direct`);
    for (const [i, f] of filters.entries()) {
      const { data } = await cohortRequest(server.url, token, f);
      const rows = await direct.runConcurrent(statements[i]);
      if (Number(rows[0][0].instances) !== data.counts.instances)
        throw new Error(`filter ${i}: API and direct counts differ`);
    }
    const api = [];
    const dir = [];
    const perFilterRatio = [];
    const perStatement = new Map();
    log(
      `== latency: ${filterCount} filters x ${rounds} round(s), one request at a time`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const [i, f] of filters.entries()) {
        // Alternate which goes first, so neither always runs on a warmer cache.
        const pair = {};
        const order = (i + r) % 2 === 0 ? ['api', 'direct'] : ['direct', 'api'];
        for (const which of order) {
          if (which === 'api')
            pair.api = (await cohortRequest(server.url, token, f)).ms;
          else {
            const s = now();
            await direct.runConcurrent(statements[i]);
            pair.direct = now() - s;
          }
        }
        api.push(pair.api);
        dir.push(pair.direct);
        perFilterRatio.push(pair.api / pair.direct);
      }
    }
    // What dominates: each statement alone, one after another, once per filter.
    for (const st of statements) {
      for (const s of st) {
        const t = now();
        await direct.runOne(s);
        const list = perStatement.get(s.name) ?? [];
        list.push(now() - t);
        perStatement.set(s.name, list);
      }
    }
    result.latency = {
      api: summary(api),
      direct: summary(dir),
      ratio: {
        p50: quantile(api, 0.5) / quantile(dir, 0.5),
        p95: quantile(api, 0.95) / quantile(dir, 0.95),
        mean: mean(api) / mean(dir),
        medianPerFilter: quantile(perFilterRatio, 0.5),
      },
      statementsAloneMs: Object.fromEntries(
        [...perStatement].map(([k, v]) => [
          k,
          { mean: mean(v), p50: quantile(v, 0.5), max: Math.max(...v) },
        ]),
      ),
    };
    result.explain = await direct.explain(statements[0]);

    // ---- 4. load ----
    log(`== load: ${clients} clients for ${seconds} s`);
    const load = await new Promise((resolve, reject) => {
      const worker = new Worker(fileURLToPath(import.meta.url), {
        workerData: { url: server.url, token, filters, clients, seconds, seed },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    result.load = {
      clients,
      seconds,
      requests: load.latencies.length,
      // Clients stop starting requests after S seconds; the wall time
      // includes the ones still in flight then.
      wallSeconds: load.wallMs / 1000,
      requestsPerSecond: load.latencies.length / (load.wallMs / 1000),
      ...summary(load.latencies),
      errors: load.errors.length,
      firstErrors: [...new Set(load.errors)].slice(0, 5),
    };
  } finally {
    await server.close();
    direct.close();
  }

  const L = result.latency;
  result.targets = {
    p50: { target: '< 100 ms', measured: L.api.p50, met: L.api.p50 < 100 },
    p95: { target: '< 300 ms', measured: L.api.p95, met: L.api.p95 < 300 },
    overhead: {
      target: '<= 1.5',
      measured: L.ratio.p50,
      met: L.ratio.p50 <= 1.5,
    },
    errors: {
      target: '0',
      measured: result.load.errors,
      met: result.load.errors === 0,
    },
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const out = (line) => process.stdout.write(line + '\n');
  const ms = (x) => x.toFixed(1).padStart(8);
  out('');
  out(`machine: ${result.machine}`);
  out(
    `lake: ${fmtInt(N)} instances, ${built.reused ? 'reused' : 'built'} in ${lakeSeconds.toFixed(1)} s`,
  );
  out('');
  out(
    'latency, one request at a time (ms)       n      p50      p95      p99     mean      max',
  );
  for (const [name, s] of [
    ['API: counts + 6 facets, one request', L.api],
    ['direct DuckDB: same 7 statements', L.direct],
  ])
    out(
      `${name.padEnd(38)}${String(s.n).padStart(6)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`,
    );
  out(
    `overhead API/direct: p50 ${L.ratio.p50.toFixed(2)}, p95 ${L.ratio.p95.toFixed(2)}, ` +
      `mean ${L.ratio.mean.toFixed(2)}, median per filter ${L.ratio.medianPerFilter.toFixed(2)}`,
  );
  out('');
  out('each statement alone, direct (ms)     mean      p50      max');
  for (const [k, v] of Object.entries(L.statementsAloneMs))
    out(`${k.padEnd(32)}${ms(v.mean)} ${ms(v.p50)} ${ms(v.max)}`);
  out('');
  const ld = result.load;
  out(
    `load: ${ld.clients} clients starting requests for ${ld.seconds} s, all done after ${ld.wallSeconds.toFixed(1)} s`,
  );
  out(
    `  ${fmtInt(ld.requests)} requests, ${ld.requestsPerSecond.toFixed(1)} req/s, p50 ${ld.p50.toFixed(0)} ms, ` +
      `p95 ${ld.p95.toFixed(0)} ms, p99 ${ld.p99.toFixed(0)} ms, max ${ld.max.toFixed(0)} ms, errors ${ld.errors}`,
  );
  for (const e of ld.firstErrors) out(`  error: ${e}`);
  out('');
  out('target                      measured     met');
  for (const [k, t] of Object.entries(result.targets))
    out(
      `${(k + ' ' + t.target).padEnd(26)}${String(typeof t.measured === 'number' && !Number.isInteger(t.measured) ? t.measured.toFixed(2) : t.measured).padStart(10)}     ${t.met ? 'yes' : 'NO'}`,
    );
}

// ---- helpers ----

function fmtInt(n) {
  return Number(n).toLocaleString('en-US');
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Nearest-rank quantile. */
function quantile(xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

function summary(xs) {
  return {
    n: xs.length,
    p50: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    p99: quantile(xs, 0.99),
    mean: mean(xs),
    max: xs.length ? Math.max(...xs) : NaN,
  };
}

function machineNotes() {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, shared with other work; Node ${process.version}`;
}

// ---- the filters ----

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'PT', 'NM'];
const BODY_PARTS = [
  'CHEST',
  'ABDOMEN',
  'HEAD',
  'PELVIS',
  'SPINE',
  'KNEE',
  'NECK',
  'BREAST',
  'WHOLEBODY',
];

/** F seeded random filters; the first matches the whole lake (the worst case). */
function makeFilters(count, seed) {
  const random = prng(seed);
  const pick = (xs, k) => {
    const pool = [...xs];
    const out = [];
    while (out.length < k && pool.length)
      out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
    return out;
  };
  const filters = [{}];
  while (filters.length < count) {
    const f = {};
    if (random() < 0.6)
      f.modality = pick(MODALITIES, 1 + Math.floor(random() * 2));
    if (random() < 0.4)
      f.bodyPart = pick(BODY_PARTS, 1 + Math.floor(random() * 2));
    if (random() < 0.3) f.sex = pick(['F', 'M'], 1);
    if (random() < 0.4) {
      const lo = Math.floor(random() * 70);
      if (random() < 0.8) f.ageMin = lo;
      if (random() < 0.8) f.ageMax = lo + 10 + Math.floor(random() * 30);
    }
    if (random() < 0.4) {
      const y = 2016 + Math.floor(random() * 9);
      f.studyDateFrom = `${y}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-01`;
      if (random() < 0.7)
        f.studyDateTo = `${Math.min(2025, y + 1 + Math.floor(random() * 3))}-12-31`;
    }
    filters.push(f);
  }
  return filters;
}

/** The statements (name, SQL, parameters) the API runs for one request. */
async function sqlOf(filter, compileFilter, CohortQueries) {
  const recorded = [];
  const recorder = new CohortQueries({
    query: async (sql, params = []) => {
      recorded.push({ sql, params });
      return [];
    },
    // The direct side builds the same rollup table (DirectDuckDB.open).
    seriesRollup: async () => 'series_rollup',
  });
  const compiled = compileFilter(filter);
  const { sql, params } = await recorder.countsSql(compiled);
  const out = [{ name: 'counts', sql, params }];
  for (const name of [
    'modality',
    'bodyPart',
    'sex',
    'manufacturer',
    'ageDecade',
    'studyYear',
  ]) {
    recorded.length = 0;
    await recorder.facet(name, compiled);
    out.push({ name: `facet ${name}`, ...recorded[0] });
  }
  return out;
}

// ---- a bare DuckDB like the API's Catalog ----

const sqlString = (s) => `'${s.replace(/'/g, "''")}'`;

class DirectDuckDB {
  constructor(instance, connections) {
    this.instance = instance;
    this.connections = connections;
  }

  /** Same settings as Catalog.open's defaults: 2 threads, 4 query connections. */
  static async open(lake, DuckDBInstance, ROLLUP_COLUMNS) {
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const connections = [];
    for (let i = 0; i < 4; i++) connections.push(await instance.connect());
    const dir = realpathSync(join(lake, 'tables', 'instances'));
    const glob = join(dir, '*', '*.parquet');
    await connections[0].run(
      `CREATE VIEW instances_batches AS SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true)`,
    );
    await connections[0].run(
      'CREATE VIEW instances AS SELECT * FROM instances_batches',
    );
    // The API's Catalog keeps the same table (Catalog.seriesRollup).
    const cols = ROLLUP_COLUMNS.map((c) => `"${c}"`).join(', ');
    await connections[0].run(
      `CREATE TABLE series_rollup AS SELECT ${cols}, count(*) AS n FROM instances GROUP BY ALL`,
    );
    return new DirectDuckDB(instance, connections);
  }

  async #exec(connection, s) {
    const reader = await connection.runAndReadAll(s.sql, s.params);
    return reader.getRowObjectsJS();
  }

  /** All statements at once over the 4 connections, as the API's resolvers run them. */
  async runConcurrent(statements) {
    const idle = [...this.connections];
    const waiting = [];
    const acquire = () =>
      idle.length
        ? Promise.resolve(idle.pop())
        : new Promise((r) => waiting.push(r));
    const release = (c) => (waiting.length ? waiting.shift()(c) : idle.push(c));
    return Promise.all(
      statements.map(async (s) => {
        const c = await acquire();
        try {
          return await this.#exec(c, s);
        } finally {
          release(c);
        }
      }),
    );
  }

  runOne(s) {
    return this.#exec(this.connections[0], s);
  }

  /** EXPLAIN ANALYZE of each statement (the whole-lake filter), as text. */
  async explain(statements) {
    const out = {};
    for (const s of statements) {
      const reader = await this.connections[0].runAndReadAll(
        `EXPLAIN ANALYZE ${s.sql}`,
        s.params,
      );
      const rows = reader.getRowObjectsJS();
      out[s.name] = String(rows[0]?.explain_value ?? '');
    }
    return out;
  }

  close() {
    for (const c of this.connections) c.closeSync();
    this.instance.closeSync();
  }
}

// ---- the synthetic lake ----

const GENERATOR = 1;

// [value, weight] lists; bodyPart and imaging rows depend on the modality.
const MODALITY_WEIGHTS = [
  ['CT', 28],
  ['MR', 18],
  ['CR', 20],
  ['DX', 10],
  ['US', 12],
  ['MG', 6],
  ['PT', 3],
  ['NM', 3],
];
const PARTS = {
  CT: [
    ['CHEST', 35],
    ['ABDOMEN', 25],
    ['HEAD', 20],
    ['PELVIS', 8],
    ['NECK', 5],
    ['SPINE', 4],
    [null, 3],
  ],
  MR: [
    ['HEAD', 40],
    ['SPINE', 20],
    ['KNEE', 12],
    ['ABDOMEN', 10],
    ['PELVIS', 8],
    ['SHOULDER', 5],
    [null, 5],
  ],
  CR: [
    ['CHEST', 55],
    ['HAND', 8],
    ['KNEE', 8],
    ['SPINE', 8],
    ['PELVIS', 6],
    ['FOOT', 5],
    ['SHOULDER', 5],
    [null, 5],
  ],
  DX: [
    ['CHEST', 50],
    ['KNEE', 10],
    ['SPINE', 10],
    ['HAND', 8],
    ['PELVIS', 8],
    ['FOOT', 6],
    [null, 8],
  ],
  US: [
    ['ABDOMEN', 45],
    ['PELVIS', 20],
    ['NECK', 10],
    ['BREAST', 10],
    [null, 15],
  ],
  MG: [
    ['BREAST', 97],
    [null, 3],
  ],
  PT: [
    ['WHOLEBODY', 60],
    ['CHEST', 15],
    ['HEAD', 10],
    [null, 15],
  ],
  NM: [
    ['WHOLEBODY', 40],
    ['CHEST', 20],
    ['HEAD', 15],
    ['SPINE', 10],
    [null, 15],
  ],
};
const MANUFACTURERS = [
  ['GE MEDICAL SYSTEMS', 30, ['Revolution', 'SIGNA Premier', 'Optima']],
  ['SIEMENS', 30, ['SOMATOM Force', 'MAGNETOM Vida', 'Biograph Vision']],
  ['Philips', 20, ['Ingenuity', 'Ingenia', 'EPIQ 7']],
  [
    'Canon Medical Systems',
    10,
    ['Aquilion ONE', 'Vantage Orian', 'Aplio i800'],
  ],
  ['FUJIFILM Corporation', 5, ['FCR Profect', 'FDR D-EVO']],
  ['Agfa', 5, ['DX-D 300', 'CR 30-X']],
];
// modality: SOP class, rows, columns, bits allocated/stored, samples,
// photometric, pixel spacing mm, slice thickness mm, series weight (how many
// series a study has, relative), instance weight (instances per series).
const IMAGING = {
  CT: [
    '1.2.840.10008.5.1.4.1.1.2',
    512,
    512,
    16,
    12,
    1,
    'MONOCHROME2',
    0.7,
    1.25,
    4,
    60,
  ],
  MR: [
    '1.2.840.10008.5.1.4.1.1.4',
    384,
    384,
    16,
    12,
    1,
    'MONOCHROME2',
    0.6,
    4.0,
    7,
    30,
  ],
  CR: [
    '1.2.840.10008.5.1.4.1.1.1',
    2500,
    2048,
    16,
    12,
    1,
    'MONOCHROME1',
    0.15,
    null,
    0.6,
    1,
  ],
  DX: [
    '1.2.840.10008.5.1.4.1.1.1.1',
    3000,
    2500,
    16,
    14,
    1,
    'MONOCHROME2',
    0.14,
    null,
    0.6,
    1,
  ],
  US: [
    '1.2.840.10008.5.1.4.1.1.6.1',
    600,
    800,
    8,
    8,
    3,
    'YBR_FULL_422',
    null,
    null,
    0.3,
    8,
  ],
  MG: [
    '1.2.840.10008.5.1.4.1.1.1.2',
    4096,
    3328,
    16,
    12,
    1,
    'MONOCHROME2',
    0.07,
    null,
    3,
    1,
  ],
  PT: [
    '1.2.840.10008.5.1.4.1.1.128',
    200,
    200,
    16,
    16,
    1,
    'MONOCHROME2',
    4.0,
    3.0,
    3,
    80,
  ],
  NM: [
    '1.2.840.10008.5.1.4.1.1.20',
    128,
    128,
    16,
    16,
    1,
    'MONOCHROME2',
    4.4,
    4.4,
    1.5,
    10,
  ],
};
const SERIES_DESCRIPTIONS = {
  CT: ['Topogram', 'Axial 5mm', 'Axial 1mm', 'Coronal MPR', 'Sagittal MPR'],
  MR: [
    'Localizer',
    'T1 SE',
    'T2 TSE',
    'FLAIR',
    'DWI',
    'T1 post contrast',
    'ADC',
  ],
  CR: ['PA', 'Lateral'],
  DX: ['AP', 'Lateral', 'Oblique'],
  US: ['Cine', 'Stills'],
  MG: ['L CC', 'R CC', 'L MLO', 'R MLO'],
  PT: ['PET AC', 'PET NAC', 'CT AC'],
  NM: ['Planar', 'SPECT'],
};

/** A VALUES table of a weighted choice: (key, lo, hi, value), lo/hi in [0, 1). */
function weighted(name, byKey) {
  const rows = [];
  for (const [key, list] of Object.entries(byKey)) {
    const total = list.reduce((a, [, w]) => a + w, 0);
    let lo = 0;
    for (const [v, w] of list) {
      const hi = lo + w / total;
      rows.push(
        `(${sqlString(key)}, ${lo}, ${v === list[list.length - 1][0] ? 1.0000001 : hi}, ${v === null ? 'NULL' : sqlString(v)})`,
      );
      lo = hi;
    }
  }
  return `CREATE TEMP TABLE ${name} AS SELECT * FROM (VALUES ${rows.join(', ')}) t(k, lo, hi, v)`;
}

async function ensureLake(lake, N, rebuild, DuckDBInstance) {
  const marker = join(lake, 'bench-lake.json');
  if (!rebuild && existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, 'utf8'));
    if (info.generator === GENERATOR && info.counts.instances === N)
      return { ...info, reused: true };
  }
  const { Lake } = await import('@lpacs/lake');
  const tmp = `${lake}.building-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(lake), { recursive: true });
  (await Lake.open(tmp)).close();
  const P = Math.max(1, Math.round(N / 50));
  const ST = Math.max(P, Math.round(N / 20));
  const SE = Math.max(ST, Math.round(N / 5));
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await db.connect();
  const run = (sql) => c.run(sql);
  try {
    // u(i, k): a uniform [0, 1) number fixed by row number and purpose.
    await run(
      `CREATE MACRO u(i, k) AS (hash(i, k) % 1000000)::DOUBLE / 1000000`,
    );
    // uid(i, k): a 2.25 UID of 128 pseudo-random bits, like the de-identifier's.
    await run(
      `CREATE MACRO uid(i, k) AS '2.25.' || (hash(i, k || 'a')::UHUGEINT * 18446744073709551616::UHUGEINT + hash(i, k || 'b')::UHUGEINT)::VARCHAR`,
    );
    await run(weighted('w_modality', { all: MODALITY_WEIGHTS }));
    await run(weighted('w_part', PARTS));
    await run(
      weighted('w_maker', { all: MANUFACTURERS.map(([m, w]) => [m, w]) }),
    );
    await run(
      `CREATE TEMP TABLE imaging AS SELECT * FROM (VALUES ${Object.entries(
        IMAGING,
      )
        .map(
          ([m, r]) =>
            `(${sqlString(m)}, ${r.map((x) => (x === null ? 'NULL' : typeof x === 'string' ? sqlString(x) : x)).join(', ')})`,
        )
        .join(
          ', ',
        )}) t(m, sop_class, nrows, ncols, bits_alloc, bits_stored, spp, photometric, spacing, thickness, series_w, inst_w)`,
    );
    await run(
      `CREATE TEMP TABLE descs AS SELECT * FROM (VALUES ${Object.entries(
        SERIES_DESCRIPTIONS,
      )
        .flatMap(([m, ds]) =>
          ds.map(
            (d, i) => `(${sqlString(m)}, ${i}, ${ds.length}, ${sqlString(d)})`,
          ),
        )
        .join(', ')}) t(m, di, n, d)`,
    );
    await run(
      `CREATE TEMP TABLE models AS SELECT * FROM (VALUES ${MANUFACTURERS.flatMap(
        ([m, , ms]) =>
          ms.map(
            (x, i) => `(${sqlString(m)}, ${i}, ${ms.length}, ${sqlString(x)})`,
          ),
      ).join(', ')}) t(maker, mi, n, model)`,
    );

    // Patients: sex about even, a few O and unknown; age on 2016-01-01
    // mostly adult (mean near 56), 8% children.
    await run(`CREATE TEMP TABLE p AS SELECT i AS p,
      'LP' || upper(substr(md5('bench-patient-' || i), 1, 16)) AS "PatientID",
      CASE WHEN u(i, 'sex') < 0.49 THEN 'F' WHEN u(i, 'sex') < 0.97 THEN 'M' WHEN u(i, 'sex') < 0.985 THEN 'O' END AS "PatientSex",
      CASE WHEN u(i, 'kid') < 0.08 THEN floor(u(i, 'a1') * 18)
           ELSE floor(18 + 77 * (u(i, 'a1') + u(i, 'a2') + u(i, 'a3')) / 3) END::INTEGER AS age0
      FROM range(${P}) t(i)`);
    // Studies: spread over 2016-2025, every patient has at least one.
    await run(`CREATE TEMP TABLE st0 AS SELECT s, s % ${P} AS p,
      DATE '2016-01-01' + floor(u(s, 'date') * 3653)::INTEGER AS "StudyDate",
      m.v AS "Modality", u(s, 'part') AS up, mk.v AS "Manufacturer", u(s, 'model') AS um
      FROM range(${ST}) t(s)
      JOIN w_modality m ON u(s, 'mod') >= m.lo AND u(s, 'mod') < m.hi
      JOIN w_maker mk ON u(s, 'maker') >= mk.lo AND u(s, 'maker') < mk.hi`);
    await run(`CREATE TEMP TABLE st AS SELECT st0.*, bp.v AS "BodyPartExamined",
      least(95, p.age0 + floor(("StudyDate" - DATE '2016-01-01') / 365.25))::INTEGER AS age,
      p."PatientID", p."PatientSex", uid(s, 'study') AS "StudyInstanceUID",
      mo.model AS "ManufacturerModelName",
      img.series_w * (0.5 + u(s, 'sw')) AS w
      FROM st0 JOIN p USING (p)
      JOIN w_part bp ON bp.k = st0."Modality" AND up >= bp.lo AND up < bp.hi
      JOIN imaging img ON img.m = st0."Modality"
      JOIN models mo ON mo.maker = st0."Manufacturer" AND mo.mi = floor(um * mo.n)`);
    // Each parent gets one child, the rest shared by weight: start offsets.
    const starts = (table, key, total, count) =>
      run(`CREATE TEMP TABLE ${table}_start AS SELECT ${key},
        (${key} + floor((sum(w) OVER (ORDER BY ${key} ROWS UNBOUNDED PRECEDING) - w) * ${total - count} / sum(w) OVER ()))::BIGINT AS start
        FROM ${table}`);
    await starts('st', 's', SE, ST);
    await run(`CREATE TEMP TABLE se AS SELECT j AS se, st.s,
      row_number() OVER (PARTITION BY st.s ORDER BY j)::INTEGER AS "SeriesNumber",
      uid(j, 'series') AS "SeriesInstanceUID",
      img.inst_w * (0.3 + 1.4 * u(j, 'iw')) AS w
      FROM range(${SE}) t(j) ASOF JOIN st_start x ON j >= x.start
      JOIN st ON st.s = x.s JOIN imaging img ON img.m = st."Modality"`);
    await starts('se', 'se', N, SE);

    const batch = (table) => join(tmp, 'tables', table, 'batch=synthetic');
    const copy = async (table, select) => {
      mkdirSync(batch(table), { recursive: true });
      await run(
        `COPY (${select}) TO ${sqlString(join(batch(table), 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
      );
    };
    const seriesCols = `"SeriesInstanceUID", st."Modality", coalesce(d.d, st."Modality") AS "SeriesDescription", "SeriesNumber",
      st."StudyDate" AS "SeriesDate", st."BodyPartExamined", st."Manufacturer", st."ManufacturerModelName"`;
    const studyCols = `st."StudyInstanceUID", st."StudyDate", st."Modality" || ' ' || coalesce(st."BodyPartExamined", 'study') AS "StudyDescription",
      lpad(least(st.age, 90)::VARCHAR, 3, '0') || 'Y' AS "PatientAge", least(st.age, 90)::INTEGER AS age_years`;
    const seriesFrom = `se JOIN st ON st.s = se.s LEFT JOIN descs d ON d.m = st."Modality" AND d.di = (se."SeriesNumber" - 1) % d.n`;
    await copy(
      'patients',
      `SELECT "PatientID", "PatientSex" FROM p ORDER BY p`,
    );
    await copy(
      'studies',
      `SELECT ${studyCols}, st."PatientID" FROM st ORDER BY s`,
    );
    await copy(
      'series',
      `SELECT ${seriesCols}, st."StudyInstanceUID", st."PatientID" FROM ${seriesFrom} ORDER BY se.se`,
    );
    await copy(
      'instances',
      `SELECT uid(i, 'sop') AS "SOPInstanceUID", img.sop_class AS "SOPClassUID",
        (i - x.start + 1)::INTEGER AS "InstanceNumber", img.nrows::INTEGER AS "Rows", img.ncols::INTEGER AS "Columns",
        (CASE WHEN st."Modality" = 'US' AND u(i, 'cine') < 0.1 THEN 60 ELSE 1 END)::INTEGER AS "NumberOfFrames",
        img.bits_alloc::INTEGER AS "BitsAllocated", img.bits_stored::INTEGER AS "BitsStored",
        img.spp::INTEGER AS "SamplesPerPixel", img.photometric AS "PhotometricInterpretation",
        img.spacing::DOUBLE AS "PixelSpacingRow", img.spacing::DOUBLE AS "PixelSpacingColumn",
        img.thickness::DOUBLE AS "SliceThickness",
        CASE WHEN u(i, 'ts') < 0.85 THEN '1.2.840.10008.1.2.1' ELSE '1.2.840.10008.1.2.4.90' END AS "TransferSyntaxUID",
        'objects/' || substr(sha256('bench-instance-' || i), 1, 2) || '/' || sha256('bench-instance-' || i) || '.dcm' AS object_key,
        sha256('bench-instance-' || i) AS sha256,
        (img.nrows * img.ncols * img.spp * img.bits_alloc / 8 * (CASE WHEN st."Modality" = 'US' AND u(i, 'cine') < 0.1 THEN 60 ELSE 1 END)
          + 1500 + hash(i, 'hdr') % 3000)::BIGINT AS size_bytes,
        TIMESTAMP '2026-11-02 08:00:00' + to_seconds((i // 1000)::BIGINT) AS ingested_at,
        ${seriesCols}, ${studyCols}, st."PatientID", st."PatientSex"
      FROM range(${N}) t(i) ASOF JOIN se_start x ON i >= x.start
      JOIN ${seriesFrom.replace('se JOIN', 'se ON se.se = x.se JOIN')}
      JOIN imaging img ON img.m = st."Modality"
      ORDER BY i`,
    );
    const counts = {};
    for (const t of ['patients', 'studies', 'series', 'instances']) {
      const r = await c.runAndReadAll(
        `SELECT count(*) AS n FROM read_parquet(${sqlString(join(batch(t), '*.parquet'))})`,
      );
      counts[t] = Number(r.getRowObjectsJS()[0].n);
    }
    const r = await c.runAndReadAll(
      `SELECT count(DISTINCT "PatientID") AS p, count(DISTINCT "StudyInstanceUID") AS s, count(DISTINCT "SeriesInstanceUID") AS e
       FROM read_parquet(${sqlString(join(batch('instances'), '*.parquet'))})`,
    );
    const d = r.getRowObjectsJS()[0];
    if (
      Number(d.p) !== counts.patients ||
      Number(d.s) !== counts.studies ||
      Number(d.e) !== counts.series
    )
      throw new Error(
        `synthetic lake is inconsistent: instances cover ${d.p}/${d.s}/${d.e} of ${JSON.stringify(counts)}`,
      );
    let parquetBytes = 0;
    const { statSync } = await import('node:fs');
    for (const t of ['patients', 'studies', 'series', 'instances'])
      parquetBytes += statSync(join(batch(t), 'part-0.parquet')).size;
    const info = { generator: GENERATOR, counts, parquetBytes };
    writeFileSync(
      join(tmp, 'bench-lake.json'),
      JSON.stringify(info, null, 2) + '\n',
    );
    rmSync(lake, { recursive: true, force: true });
    renameSync(tmp, lake);
    return { ...info, reused: false };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

// ---- load clients: run in a worker thread, so their bookkeeping does not
// share the server's event loop ----
async function loadWorker() {
  const { url, token, filters, clients, seconds, seed } = workerData;
  const latencies = [];
  const errors = [];
  const end = now() + seconds * 1000;
  const client = async (k) => {
    const random = prng(seed * 1000 + k);
    while (now() < end) {
      const filter = filters[Math.floor(random() * filters.length)];
      try {
        latencies.push((await cohortRequest(url, token, filter)).ms);
      } catch (err) {
        errors.push(String(err.message ?? err).slice(0, 200));
      }
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  parentPort.postMessage({ latencies, errors, wallMs: now() - t0 });
}

export { ensureLake };

// Last, so every constant above is initialised. Imported (bench/portal.mjs
// reuses the lake builder), it runs nothing.
const invoked =
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (!isMainThread) await loadWorker();
else if (invoked) await main();
