#!/usr/bin/env node
// Times a push through the C-STORE SCP of `lpacs serve`: dcmtk's storescu
// sends every file of a folder in one association to a fresh lake served
// on 127.0.0.1, and the run is timed from storescu's start to its exit
// (every C-STORE answered) and to the last instance being in the lake's
// batches (as `lpacs status` counts them). Prints files/s both ways and
// the number of batches and Parquet files the push left.
//
// Usage: node bench/dimse.mjs DIR [--runs K] [--cli PATH] [--json]
//
// DIR: a folder of DICOM files, e.g. 200 CT slices made by
// node datasets/generate-ct.mjs --out /tmp/ct200 --patients 1 --studies 1
//   --series 1 --slices 200
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    cli: {
      type: 'string',
      default: join(here, '..', 'packages', 'cli', 'dist', 'bin.js'),
    },
    json: { type: 'boolean', default: false },
  },
});
const corpus = resolve(positionals[0] ?? 'datasets/cache/ct-test');
const cli = resolve(values.cli);

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? filesUnder(join(dir, e.name))
      : e.isFile()
        ? [join(dir, e.name)]
        : [],
  );
}
const files = filesUnder(corpus);
const bytes = files.reduce((n, f) => n + statSync(f).size, 0);

function status(lake) {
  const run = spawnSync(
    process.execPath,
    [cli, 'status', '--lake', lake, '--json'],
    { encoding: 'utf8' },
  );
  return JSON.parse(run.stdout);
}

function parquetFiles(dir) {
  return filesUnder(join(dir, 'tables')).filter((f) => f.endsWith('.parquet'))
    .length;
}

async function once() {
  const work = mkdtempSync(join(tmpdir(), 'lpacs-dimse-bench-'));
  const lake = join(work, 'lake');
  spawnSync(process.execPath, [cli, 'init', '--lake', lake]);
  const child = spawn(process.execPath, [
    ...[cli, 'serve', '--lake', lake, '--port', '0'],
    ...['--dimse-port', '0', '--allow-ae', 'BENCH'],
  ]);
  let out = '';
  const port = await new Promise((ok, fail) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+) for/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`serve exited ${code}`)));
  });
  try {
    const started = process.hrtime.bigint();
    const push = spawnSync(
      'storescu',
      [
        '-aet',
        'BENCH',
        '-aec',
        'LPACS',
        '+sd',
        '+r',
        '127.0.0.1',
        String(port),
        corpus,
      ],
      { encoding: 'utf8' },
    );
    const answered = Number(process.hrtime.bigint() - started) / 1e9;
    if (push.status !== 0) throw new Error(`storescu: ${push.stderr}`);
    let s = status(lake);
    while (s.instances < files.length) {
      await new Promise((r) => setTimeout(r, 20));
      s = status(lake);
    }
    const committed = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      answered,
      committed,
      batches: s.batches,
      parquet: parquetFiles(lake),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
}

const runs = [];
for (let i = 0; i < Number(values.runs); i++) runs.push(await once());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  files: files.length,
  megabytes: bytes / 1e6,
  answeredSeconds: median(runs.map((r) => r.answered)),
  committedSeconds: median(runs.map((r) => r.committed)),
  batches: median(runs.map((r) => r.batches)),
  parquetFiles: median(runs.map((r) => r.parquet)),
  runs,
};
if (values.json) console.log(JSON.stringify(result, null, 2));
else {
  const rate = (s) => (files.length / s).toFixed(1);
  console.log(
    `${files.length} files, ${result.megabytes.toFixed(1)} MB, storescu in one association, median of ${runs.length}`,
  );
  console.log(
    `all answered  ${result.answeredSeconds.toFixed(2)} s  ${rate(result.answeredSeconds)} files/s`,
  );
  console.log(
    `all committed ${result.committedSeconds.toFixed(2)} s  ${rate(result.committedSeconds)} files/s`,
  );
  console.log(
    `batches ${result.batches}, Parquet files ${result.parquetFiles}`,
  );
}
