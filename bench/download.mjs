#!/usr/bin/env node
// Does a release download with flat memory, however large? Builds a lake
// of about GB gigabytes of CT objects, runs the sharing workflow through
// the real API (`lpacs serve` in its own process: a researcher saves the
// whole lake as a cohort and asks to share it, a steward approves, the
// collaborator takes a signed link), downloads the release's zip and
// samples the server's resident memory every 50 ms while it streams. The
// peer, in the same run, is `cat` of the same objects to /dev/null: the
// read floor. Prints the server's RSS before and at its peak, the zip's
// size and MB/s, and the ratio to cat.
//
// Usage: node bench/download.mjs [--gb 2] [--json]
//
// The corpus is copies of 100 generated CT files (448x448, about 400 KB
// each; datasets/cache/download-template) with UIDs and patient IDs
// rewritten per copy (bench/derive.mjs). Everything listens on 127.0.0.1.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listDicom, writeCopies } from './derive.mjs';
import { graphqlRequest } from './graphql.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const cli = join(root, 'packages/cli/dist/bin.js');
const { values: opts } = parseArgs({
  options: {
    gb: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const gigabytes = Number(opts.gb);
if (!(gigabytes > 0)) throw new Error('--gb must be a positive number');
const log = (line) => opts.json || process.stderr.write(line + '\n');

function template() {
  const dir = join(root, 'datasets/cache/download-template');
  if (!existsSync(join(dir, 'truth.json'))) {
    log('download: generating the template set (once)');
    execFileSync(
      process.execPath,
      [
        join(root, 'datasets/generate-ct.mjs'),
        ...['--out', dir, '--patients', '1', '--studies', '1', '--series'],
        ...['4', '--slices', '25', '--seed', '11', '--force'],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return listDicom(dir).map((f) => readFileSync(f));
}

/** Resident memory of a process now, in MB (Linux /proc). */
function rssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

function run(args, env = {}) {
  return execFileSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  });
}

async function serve(lake) {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--lake', lake, '--port', '0', '--host', '127.0.0.1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LPACS_LOG_LEVEL: 'warn' },
    },
  );
  let seen = '';
  const url = await new Promise((done, fail) => {
    const onData = (chunk) => {
      seen += chunk;
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m) done(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      fail(new Error(`serve exited (${code}): ${seen.slice(-400)}`)),
    );
  });
  return { child, url };
}

async function gql(url, token, query, variables) {
  return (await graphqlRequest(`${url}/graphql`, token, query, variables)).data;
}

function catObjects(lake) {
  const dir = join(lake, 'objects');
  const files = readdirSync(dir).flatMap((d) =>
    readdirSync(join(dir, d)).map((f) => join(dir, d, f)),
  );
  execFileSync('sync');
  const started = performance.now();
  // xargs keeps the argument lists short; cat reads every byte.
  execFileSync('sh', [
    '-c',
    `find "${dir}" -type f -print0 | xargs -0 cat > /dev/null`,
  ]);
  return { files: files.length, seconds: (performance.now() - started) / 1000 };
}

const work = mkdtempSync(join(tmpdir(), 'lpacs-bench-download-'));
const lake = join(work, 'lake');
let server;
try {
  // ---- the lake ----
  const files = template();
  const fileBytes = files.reduce((n, b) => n + b.length, 0) / files.length;
  const count = Math.ceil((gigabytes * 1e9) / fileBytes);
  const corpus = join(work, 'corpus');
  log(`download: writing ${count} files (${gigabytes} GB) from the template`);
  writeCopies(corpus, files, count, 1);
  log('download: ingesting');
  const report = JSON.parse(
    run(['ingest', corpus, '--lake', lake, '--json', '--batch-size', '5000']),
  );
  rmSync(corpus, { recursive: true, force: true });
  if (report.ingested !== count)
    throw new Error(`ingested ${report.ingested} of ${count} files`);

  // ---- people and the server ----
  const { AccessStore, Role } = await import('@lpacs/access');
  const store = new AccessStore(lake);
  const token = {};
  for (const [name, role] of [
    ['rita', Role.Researcher],
    ['sam', Role.Steward],
    ['cole', Role.Collaborator],
  ]) {
    await store.addUser(name, role);
    token[name] = (
      await store.issueToken(name, { label: 'bench', expiresInDays: 1 })
    ).token;
  }
  server = await serve(lake);
  const { url } = server;
  const expires = new Date(Date.now() + 30 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const saved = await gql(
    url,
    token.rita,
    'mutation { saveCohort(name: "everything") { id counts { instances } } }',
  );
  const share = await gql(
    url,
    token.rita,
    'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "bench", expiresAt: $e) { id } }',
    { c: saved.saveCohort.id, e: expires },
  );
  log('download: approving (builds the release manifest)');
  const decided = await gql(
    url,
    token.sam,
    'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
    { id: share.requestShare.id },
  );
  const link = await gql(
    url,
    token.cole,
    'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
    { id: decided.decideShare.releaseId },
  );

  // ---- the download, sampling the server's memory ----
  const pid = server.child.pid;
  await new Promise((r) => setTimeout(r, 500));
  const before = rssMB(pid);
  let peak = before;
  const samples = [];
  const timer = setInterval(() => {
    const mb = rssMB(pid);
    peak = Math.max(peak, mb);
    samples.push(mb);
  }, 50);
  const started = performance.now();
  const res = await fetch(link.releaseDownload.zipUrl);
  if (res.status !== 200) throw new Error(`download: HTTP ${res.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const cat = catObjects(lake);
  const objectBytes = report.bytesWritten;
  const result = {
    instances: saved.saveCohort.counts.instances,
    zipBytes: bytes,
    zipSha256: hash.digest('hex'),
    seconds,
    megabytesPerSecond: bytes / 1e6 / seconds,
    serverRssBeforeMB: before,
    serverRssPeakMB: peak,
    serverRssSamples: samples.length,
    cat: {
      seconds: cat.seconds,
      megabytesPerSecond: objectBytes / 1e6 / cat.seconds,
    },
  };
  result.ratioToCat = result.megabytesPerSecond / result.cat.megabytesPerSecond;
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `release of ${result.instances} instances: zip ${(bytes / 1e9).toFixed(2)} GB in ${seconds.toFixed(1)} s (${result.megabytesPerSecond.toFixed(0)} MB/s)`,
    );
    console.log(
      `server RSS: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at its peak (${samples.length} samples every 50 ms)`,
    );
    console.log(
      `peer: cat of the same ${cat.files} objects to /dev/null ${result.cat.megabytesPerSecond.toFixed(0)} MB/s; ratio download/cat ${result.ratioToCat.toFixed(2)}`,
    );
  }
} finally {
  server?.child.kill();
  rmSync(work, { recursive: true, force: true });
}
