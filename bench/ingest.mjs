#!/usr/bin/env node
// Benchmarks `lpacs ingest` against two peers on the same corpus in the same
// run: gdcmanon (GDCM's PS3.15 basic-profile de-identifier, single-threaded)
// and plain `cp -r` (the floor: read + write, no parsing); `lpacs+enc` is the
// same ingest into an encrypted lake (lpacs init --encrypt).
//
// Usage: node bench/ingest.mjs DIR [--workers N] [--runs K] [--json]
//   [--tools lpacs,gdcmanon,cp] [--cli packages/cli/dist/bin.js]
//
// The page cache cannot be dropped here, so every file is read once before
// timing and all contestants read from cache.
import { makeCertificate } from './certificate.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const GNU_TIME = '/usr/bin/time';
const TOOLS = [
  'lpacs',
  'lpacs+enc',
  'gdcmanon',
  'gdcmanon+sync',
  'cp',
  'cp+sync',
];
const REPORT_FIELDS = [
  'filesSeen',
  'ingested',
  'skipped',
  'quarantined',
  'bytesRead',
  'seconds',
];

// ---------------------------------------------------------------- helpers

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

function onPath(command) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2) return sorted[mid];
  return (sorted[mid - 1] + sorted[mid]) / 2;
}

function exec(command, args, options = {}) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', fail);
    child.on('close', (code, signal) =>
      done({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

// Wall time from here; peak RSS (KB) from GNU time, which reports the
// largest resident set of the process, worker threads included.
async function measure(command, args, scratch) {
  const timeFile = join(scratch, 'time.out');
  const useTime = existsSync(GNU_TIME);
  const started = performance.now();
  const result = useTime
    ? await exec(GNU_TIME, ['-f', '%M', '-o', timeFile, command, ...args])
    : await exec(command, args);
  const seconds = (performance.now() - started) / 1000;
  const peakRssKb = useTime
    ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1))
    : null;
  if (result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(
      `${command} exited with ${result.code ?? result.signal}: ${tail}`,
    );
  }
  return { seconds, peakRssKb, stdout: result.stdout, stderr: result.stderr };
}

// ---------------------------------------------------------------- tools

async function measureSynced(command, args, out, scratch) {
  process.env.LPACS_BENCH_OUT = out;
  const [sh, shArgs] = thenSync(command, args, out);
  return measure(sh, shArgs, scratch);
}

function lastJsonObject(text) {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('no JSON on stdout');
  return JSON.parse(text.slice(start, end + 1));
}

function checkReport(report) {
  const missing = REPORT_FIELDS.filter((f) => typeof report[f] !== 'number');
  if (missing.length) {
    throw new Error(`lpacs report lacks ${missing.join(', ')}`);
  }
  return report;
}

function lpacsTool(opts) {
  return {
    name: 'lpacs',
    missing: () =>
      existsSync(opts.cli) ? null : `${opts.cli} not built (run npm run build)`,
    async run(corpus, scratch) {
      const args = [
        opts.cli,
        'ingest',
        corpus.dir,
        '--lake',
        join(scratch, 'lake'),
        '--json',
      ];
      if (opts.workers) args.push('--workers', String(opts.workers));
      const m = await measure(process.execPath, args, scratch);
      const report = checkReport(lastJsonObject(m.stdout));
      return { ...m, report, outputFiles: report.ingested };
    },
  };
}

// The same ingest into a lake made by `lpacs init --encrypt` (untimed),
// under a KEK from the environment: what AES-256-GCM at rest costs.
function lpacsEncryptedTool(opts) {
  const plain = lpacsTool(opts);
  return {
    ...plain,
    name: 'lpacs+enc',
    async run(corpus, scratch) {
      process.env.LPACS_KEK = randomBytes(32).toString('hex');
      try {
        const lake = join(scratch, 'lake');
        const init = await exec(process.execPath, [
          opts.cli,
          'init',
          '--encrypt',
          '--lake',
          lake,
        ]);
        if (init.code !== 0) throw new Error(`init: ${init.stderr}`);
        return await plain.run(corpus, scratch);
      } finally {
        delete process.env.LPACS_KEK;
      }
    },
  };
}

// lpacs makes every batch durable (syncfs) before it commits; a peer is
// also timed with a `sync -f` of its output, so like is compared with like.
function thenSync(command, args, out) {
  return [
    'sh',
    ['-c', '"$0" "$@" && sync -f "$LPACS_BENCH_OUT"', command, ...args],
    out,
  ];
}

function gdcmanonTool(root, durable = false) {
  let cert;
  return {
    name: durable ? 'gdcmanon+sync' : 'gdcmanon',
    missing: () => {
      if (!onPath('gdcmanon')) return 'gdcmanon not installed (libgdcm-tools)';
      return onPath('openssl') ? null : 'openssl not installed';
    },
    async run(corpus, scratch) {
      cert ??= makeCertificate(root);
      const out = join(scratch, 'out');
      const args = ['--continue', '-r', '-i', corpus.dir, '-o', out];
      const full = [...args, '-c', cert];
      const m = durable
        ? await measureSynced('gdcmanon', full, out, scratch)
        : await measure('gdcmanon', full, scratch);
      return { ...m, outputFiles: listFiles(out).length };
    },
  };
}

function cpTool(durable = false) {
  return {
    name: durable ? 'cp+sync' : 'cp',
    missing: () => (onPath('cp') ? null : 'cp not found'),
    async run(corpus, scratch) {
      const out = join(scratch, 'copy');
      const args = ['-r', corpus.dir, out];
      const m = durable
        ? await measureSynced('cp', args, out, scratch)
        : await measure('cp', args, scratch);
      return { ...m, outputFiles: listFiles(out).length };
    },
  };
}

// ---------------------------------------------------------------- bench

function readCorpus(dir) {
  const files = listFiles(dir);
  let bytes = 0;
  // Reading every file once is the warm-up: afterwards all contestants read
  // from the page cache rather than whoever runs first paying for the disk.
  for (const file of files) bytes += readFileSync(file).length;
  return { dir, files: files.length, bytes };
}

function summarize(corpus, runs) {
  const seconds = median(runs.map((r) => r.seconds));
  const rss = runs.map((r) => r.peakRssKb).filter((v) => v !== null);
  return {
    wallSeconds: seconds,
    filesPerSecond: corpus.files / seconds,
    mbPerSecond: corpus.bytes / 1e6 / seconds,
    peakRssMb: rss.length ? median(rss) / 1024 : null,
    outputFiles: runs[0].outputFiles,
    runs: runs.map((r) => ({ seconds: r.seconds, peakRssKb: r.peakRssKb })),
    ...(runs[0].report ? { report: runs.at(-1).report } : {}),
  };
}

async function bench(opts) {
  const corpus = readCorpus(opts.dir);
  const root = mkdtempSync(join(tmpdir(), 'lpacs-bench-'));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const all = {
    lpacs: lpacsTool(opts),
    'lpacs+enc': lpacsEncryptedTool(opts),
    gdcmanon: gdcmanonTool(root),
    'gdcmanon+sync': gdcmanonTool(root, true),
    cp: cpTool(),
    'cp+sync': cpTool(true),
  };
  const tools = opts.tools.map((name) => all[name]);
  const skipped = {};
  const failed = {};
  const runs = {};
  for (const tool of tools) {
    const reason = tool.missing();
    if (reason) skipped[tool.name] = reason;
    else runs[tool.name] = [];
  }
  try {
    // Interleaved so slow drift (writeback, thermal) hits every tool alike.
    for (let k = 0; k < opts.runs; k += 1) {
      for (const tool of tools.filter((t) => runs[t.name])) {
        try {
          runs[tool.name].push(await runTool(tool, corpus, root));
        } catch (err) {
          failed[tool.name] = err.message;
          delete runs[tool.name];
        }
        // Flush this tool's writes so the next one does not pay for them.
        await exec('sync', []);
      }
    }
  } finally {
    cleanup();
  }
  return { ...results(opts, corpus, runs, skipped), failed };
}

async function runTool(tool, corpus, root) {
  const scratch = mkdtempSync(join(root, `${tool.name}-`));
  // Untimed: flush what earlier runs left dirty, so no contestant's writes
  // are throttled by another's writeback.
  execFileSync('sync');
  try {
    return await tool.run(corpus, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function results(opts, corpus, runs, skipped) {
  const summary = {};
  for (const [name, list] of Object.entries(runs)) {
    summary[name] = summarize(corpus, list);
  }
  const ratio = (a, b) =>
    summary[a] && summary[b]
      ? summary[a].filesPerSecond / summary[b].filesPerSecond
      : null;
  return {
    corpus,
    runs: opts.runs,
    workers: opts.workers ?? null,
    cache: 'warm: every corpus file was read once before timing',
    results: summary,
    skipped,
    ratios: {
      'lpacs+enc/lpacs': ratio('lpacs+enc', 'lpacs'),
      'lpacs/gdcmanon': ratio('lpacs', 'gdcmanon'),
      'lpacs/gdcmanon+sync': ratio('lpacs', 'gdcmanon+sync'),
      'lpacs/cp': ratio('lpacs', 'cp'),
      'lpacs/cp+sync': ratio('lpacs', 'cp+sync'),
    },
  };
}

// ---------------------------------------------------------------- output

const LABELS = {
  lpacs: 'lpacs ingest',
  'lpacs+enc': 'lpacs encrypted',
  gdcmanon: 'gdcmanon -e',
  'gdcmanon+sync': 'gdcmanon+sync',
  cp: 'cp -r',
  'cp+sync': 'cp -r+sync',
};

function fixed(value, digits) {
  return value === null || value === undefined ? 'n/a' : value.toFixed(digits);
}

function row(cells) {
  const widths = [14, 9, 9, 8, 13, 8];
  return cells
    .map((c, i) => (i ? String(c).padStart(widths[i]) : c.padEnd(widths[i])))
    .join(' ');
}

function lpacsNote(r) {
  const { filesSeen, ingested, skipped, quarantined } = r.report;
  return (
    `lpacs report: filesSeen ${filesSeen}, ingested ${ingested}, ` +
    `skipped ${skipped}, quarantined ${quarantined}, ` +
    `own seconds ${fixed(r.report.seconds, 2)}`
  );
}

function printTable(res) {
  const { corpus } = res;
  console.log(
    `corpus ${corpus.dir}: ${corpus.files} files, ` +
      `${(corpus.bytes / 1e6).toFixed(1)} MB`,
  );
  console.log(
    `page cache warmed (every file read once); median of ${res.runs} run(s)` +
      (res.workers ? `; lpacs --workers ${res.workers}` : ''),
  );
  console.log(row(['tool', 'wall s', 'files/s', 'MB/s', 'peak RSS MB', 'out']));
  for (const [name, r] of Object.entries(res.results)) {
    console.log(
      row([
        LABELS[name],
        fixed(r.wallSeconds, 2),
        fixed(r.filesPerSecond, 1),
        fixed(r.mbPerSecond, 1),
        fixed(r.peakRssMb, 1),
        r.outputFiles,
      ]),
    );
  }
  for (const [name, reason] of Object.entries(res.skipped)) {
    console.log(`skipped ${LABELS[name]}: ${reason}`);
  }
  for (const [name, reason] of Object.entries(res.failed)) {
    console.log(`FAILED ${LABELS[name]}: ${reason}`);
  }
  if (res.results.lpacs) console.log(lpacsNote(res.results.lpacs));
  for (const [name, value] of Object.entries(res.ratios)) {
    if (value !== null)
      console.log(`files/s ratio ${name}: ${fixed(value, 2)}`);
  }
}

// ---------------------------------------------------------------- main

function parseOptions() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      workers: { type: 'string' },
      runs: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      tools: { type: 'string', default: TOOLS.join(',') },
      cli: {
        type: 'string',
        default: join(here, '..', 'packages', 'cli', 'dist', 'bin.js'),
      },
    },
  });
  if (positionals.length !== 1) {
    throw new Error('usage: bench/ingest.mjs DIR [--workers N] [--runs K]');
  }
  const dir = resolve(positionals[0]);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`${dir} is not a directory`);
  }
  const runs = Number(values.runs);
  const workers = values.workers === undefined ? null : Number(values.workers);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('bad --runs');
  if (workers !== null && !(Number.isInteger(workers) && workers > 0)) {
    throw new Error('bad --workers');
  }
  const tools = values.tools.split(',').filter(Boolean);
  const unknown = tools.filter((t) => !TOOLS.includes(t));
  if (unknown.length) throw new Error(`unknown tool ${unknown.join(', ')}`);
  return {
    dir,
    runs,
    workers,
    tools,
    json: values.json,
    cli: resolve(values.cli),
  };
}

async function main() {
  const opts = parseOptions();
  const res = await bench(opts);
  if (opts.json) console.log(JSON.stringify(res, null, 2));
  else printTable(res);
  if (Object.keys(res.failed).length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
