#!/usr/bin/env node
// Does ingest stay as fast as the lake grows? Ingests CHUNKS chunks of
// FILES small CT files each into one lake, one `lpacs ingest` per chunk,
// and prints each chunk's files/s and peak RSS beside the lake's size when
// it started. The peer is the same tool on an empty lake, measured in the
// same run: the last chunk's speed over the first's is the flatness ratio
// (1.0 is flat). A rerun of the last chunk then measures the skip path at
// full size.
//
// Usage: node bench/scale.mjs [--chunks 10] [--files 10000] [--keep DIR]
//   [--json]
//
// The files are derived from one dcmtk-generated template set (1000 CT
// files, 64x64, cached in datasets/cache/scale-template): each copy gets
// its own UIDs and patient IDs by rewriting digits in place (same length,
// so every file stays valid DICOM).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listDicom, writeCopies } from './derive.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const cli = join(root, 'packages/cli/dist/bin.js');

const { values: opts } = parseArgs({
  options: {
    chunks: { type: 'string', default: '10' },
    files: { type: 'string', default: '10000' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const chunks = Number(opts.chunks);
const perChunk = Number(opts.files);
if (!(chunks >= 2 && perChunk >= 100))
  throw new Error('--chunks must be at least 2 and --files at least 100');

function template() {
  const dir = join(root, 'datasets/cache/scale-template');
  if (!existsSync(join(dir, 'truth.json'))) {
    process.stderr.write('scale: generating the template set (once)\n');
    execFileSync(
      process.execPath,
      [
        join(root, 'datasets/generate-ct.mjs'),
        ...['--out', dir, '--patients', '10', '--studies', '2'],
        ...[
          '--series',
          '2',
          '--slices',
          '25',
          '--size',
          '64',
          '--seed',
          '7',
          '--force',
        ],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return listDicom(dir).map((f) => readFileSync(f));
}

function ingest(dir, lake) {
  return new Promise((done, fail) => {
    const timeFile = join(tmpdir(), `lpacs-scale-rss-${process.pid}`);
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M', '-o', timeFile, process.execPath, cli, 'ingest', dir],
      {
        env: { ...process.env, LPACS_LAKE: lake },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', fail);
    const started = performance.now();
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0)
        return fail(new Error(`ingest failed: ${Buffer.concat(err)}`));
      const rssMB = Number(readFileSync(timeFile, 'utf8').trim()) / 1024;
      rmSync(timeFile, { force: true });
      done({ seconds, rssMB });
    });
    child.stdin?.end();
    // --json would print the whole report; the wall clock is what counts.
    void out;
  });
}

if (!existsSync(cli)) throw new Error('build first: npx turbo run build');
if (!existsSync('/usr/bin/time'))
  throw new Error('GNU time is needed (apt-get install time)');
const files = template();
const work = mkdtempSync(join(tmpdir(), 'lpacs-scale-'));
const lake = opts.keep ? resolve(opts.keep) : join(work, 'lake');
const rows = [];
try {
  let copy = 1;
  let chunkDir;
  for (let c = 0; c < chunks; c++) {
    chunkDir = join(work, `chunk${c}`);
    rmSync(join(work, `chunk${c - 1}`), { recursive: true, force: true });
    copy += writeCopies(chunkDir, files, perChunk, copy);
    execFileSync('sync');
    const before = c * perChunk;
    const m = await ingest(chunkDir, lake);
    rows.push({ chunk: c + 1, lakeBefore: before, ...m });
    process.stderr.write(
      `scale: chunk ${c + 1}/${chunks} into a lake of ${before} files: ${(perChunk / m.seconds).toFixed(0)} files/s, ${m.rssMB.toFixed(0)} MB RSS\n`,
    );
  }
  execFileSync('sync');
  const rerun = await ingest(chunkDir, lake);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const result = {
    filesPerChunk: perChunk,
    chunks: rows.map((r) => ({
      ...r,
      filesPerSecond: perChunk / r.seconds,
    })),
    rerunOfLastChunk: {
      ...rerun,
      filesPerSecond: perChunk / rerun.seconds,
    },
    flatness: first.seconds / last.seconds,
    peakRssMB: Math.max(...rows.map((r) => r.rssMB), rerun.rssMB),
  };
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `lake grown to ${chunks * perChunk} files, ${perChunk} per ingest run`,
    );
    console.log('chunk  lake before   files/s   peak RSS MB');
    for (const r of result.chunks)
      console.log(
        `${String(r.chunk).padStart(5)}  ${String(r.lakeBefore).padStart(11)}  ${r.filesPerSecond.toFixed(0).padStart(8)}  ${r.rssMB.toFixed(0).padStart(12)}`,
      );
    console.log(
      `rerun of the last chunk (every file already stored): ${result.rerunOfLastChunk.filesPerSecond.toFixed(0)} files/s, ${rerun.rssMB.toFixed(0)} MB RSS`,
    );
    console.log(
      `flatness (last chunk's files/s over the first's, 1.0 = flat): ${result.flatness.toFixed(2)}`,
    );
    console.log(`peak RSS over all runs: ${result.peakRssMB.toFixed(0)} MB`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
