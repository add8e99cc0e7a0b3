#!/usr/bin/env node
// Several `lpacs ingest` processes on one lake against one process on the
// same inputs: the corpus's top-level folders are dealt round-robin into
// N disjoint groups, one process each, all started at once.
//
// Usage: node bench/writers.mjs DIR [--processes N] [--workers W]
//   [--runs K] [--cli packages/cli/dist/bin.js] [--json]
//
// Each run makes two fresh lakes (one process; N processes) with the same
// site secret and checks they hold the same (SOPInstanceUID, sha256) rows.
// The page cache is warmed first; a `sync` runs before each contestant.
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const GNU_TIME = '/usr/bin/time';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    processes: { type: 'string', default: '2' },
    workers: { type: 'string' },
    runs: { type: 'string', default: '3' },
    cli: {
      type: 'string',
      default: join(here, '..', 'packages', 'cli', 'dist', 'bin.js'),
    },
    json: { type: 'boolean', default: false },
  },
});
const [dir] = positionals;
if (!dir) {
  process.stderr.write(
    'usage: node bench/writers.mjs DIR [--processes N] [--workers W] [--runs K] [--cli PATH] [--json]\n',
  );
  process.exit(2);
}
const corpus = resolve(dir);
const processes = Number(values.processes);
const runs = Number(values.runs);

function listFiles(path) {
  return statSync(path).isDirectory()
    ? readdirSync(path).flatMap((n) => listFiles(join(path, n)))
    : [path];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// One `lpacs ingest` under GNU time: its report, CPU seconds, peak RSS.
function ingest(lake, paths, scratch, i) {
  const timeFile = join(scratch, `time-${i}.out`);
  const args = [values.cli, 'ingest', ...paths, '--lake', lake, '--json'];
  if (values.workers) args.push('--workers', values.workers);
  const useTime = existsSync(GNU_TIME);
  const [cmd, argv] = useTime
    ? [GNU_TIME, ['-f', '%U %S %M', '-o', timeFile, process.execPath, ...args]]
    : [process.execPath, args];
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`ingest exited ${code}: ${err}`));
      const report = JSON.parse(out);
      let cpu = null;
      let rssMb = null;
      if (useTime) {
        const [u, s, m] = readFileSync(timeFile, 'utf8')
          .trim()
          .split('\n')
          .at(-1)
          .split(' ')
          .map(Number);
        cpu = u + s;
        rssMb = m / 1024;
      }
      done({ report, cpu, rssMb });
    });
  });
}

// Wall time of all groups ingested at once into one lake.
async function contestant(lake, groups, scratch) {
  execFileSync('sync');
  const started = performance.now();
  const results = await Promise.all(
    groups.map((paths, i) => ingest(lake, paths, scratch, i)),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    filesSeen: results.reduce((n, r) => n + r.report.filesSeen, 0),
    ingested: results.reduce((n, r) => n + r.report.ingested, 0),
    cpuSeconds: results.every((r) => r.cpu !== null)
      ? results.reduce((n, r) => n + r.cpu, 0)
      : null,
    peakRssMb: Math.max(...results.map((r) => r.rssMb ?? 0)),
  };
}

async function sameRows(a, b) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const q = (l) =>
      `SELECT "SOPInstanceUID", sha256 FROM read_parquet('${l}/tables/instances/*/*.parquet', hive_partitioning = false)`;
    const r = await conn.runAndReadAll(
      `SELECT (SELECT count(*) FROM (${q(a)} EXCEPT ALL ${q(b)})) + (SELECT count(*) FROM (${q(b)} EXCEPT ALL ${q(a)})) AS n`,
    );
    return Number(r.getRowObjectsJS()[0].n) === 0;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const entries = readdirSync(corpus)
  .sort()
  .map((n) => join(corpus, n));
const groups = Array.from({ length: processes }, () => []);
let g = 0;
for (const e of entries) {
  if (statSync(e).isDirectory()) groups[g++ % processes].push(e);
  else groups[0].push(e);
}
const files = listFiles(corpus);
let bytes = 0;
for (const f of files) bytes += readFileSync(f).length; // warms the cache too
const cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
const log = (line) => values.json || process.stdout.write(`${line}\n`);
log(
  `corpus ${corpus}: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB; ${processes} groups of ${groups.map((x) => x.length).join('/')} top-level entries; ${cores} cores; page cache warmed`,
);

const samples = { one: [], many: [] };
for (let run = 0; run < runs; run++) {
  const scratch = mkdtempSync(join(tmpdir(), 'lpacs-bench-writers-'));
  try {
    const one = join(scratch, 'one');
    samples.one.push(await contestant(one, [entries], scratch));
    const many = join(scratch, 'many');
    mkdirSync(join(many, 'keys'), { recursive: true });
    copyFileSync(join(one, 'keys', 'site.key'), join(many, 'keys', 'site.key'));
    samples.many.push(await contestant(many, groups, scratch));
    if (!(await sameRows(one, many)))
      throw new Error(`run ${run + 1}: the lakes hold different instances`);
    for (const sub of ['staging', 'journal', 'locks'])
      if (readdirSync(join(many, sub)).length)
        throw new Error(`run ${run + 1}: ${sub}/ is not empty`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const summary = Object.fromEntries(
  Object.entries(samples).map(([k, xs]) => {
    const seconds = median(xs.map((x) => x.seconds));
    return [
      k,
      {
        processes: k === 'one' ? 1 : processes,
        wallSeconds: seconds,
        filesPerSecond: xs[0].filesSeen / seconds,
        cpuSeconds:
          xs[0].cpuSeconds === null
            ? null
            : median(xs.map((x) => x.cpuSeconds)),
        peakRssMb: median(xs.map((x) => x.peakRssMb)),
        ingested: xs[0].ingested,
        runs: xs.map((x) => x.seconds),
      },
    ];
  }),
);
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ corpus, files: files.length, cores, workers: values.workers ?? 'default', summary }, null, 2)}\n`,
  );
} else {
  log(
    `median of ${runs} run(s); workers per process: ${values.workers ?? 'default (one per core)'}`,
  );
  log(
    'contestant         wall s   files/s   CPU s   peak RSS MB (per process)',
  );
  for (const [k, s] of Object.entries(summary))
    log(
      `${`${s.processes} process${s.processes > 1 ? 'es' : ''}`.padEnd(17)} ${s.wallSeconds.toFixed(2).padStart(7)} ${s.filesPerSecond.toFixed(1).padStart(9)} ${s.cpuSeconds === null ? '    -' : s.cpuSeconds.toFixed(1).padStart(7)} ${s.peakRssMb.toFixed(0).padStart(13)}`,
    );
  log(
    `files/s ratio ${processes} processes / 1: ${(summary.many.filesPerSecond / summary.one.filesPerSecond).toFixed(2)}; same instances in both lakes in every run`,
  );
}
