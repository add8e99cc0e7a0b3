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
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listFiles(p);
    return e.name.endsWith('.dcm') ? [p] : [];
  });
}

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
  return listFiles(dir).map((f) => readFileSync(f));
}

const UID_ROOT = Buffer.from('2.25.');
const MRN = Buffer.from('MRN');

/** Rewrites the last `width` digits of a digit run at `at..end` by `copy`. */
function shiftDigits(buf, at, end, copy, width) {
  const from = Math.max(at, end - width);
  const digits = buf.toString('latin1', from, end);
  const n = (Number(digits) + copy * 7919) % 10 ** digits.length;
  // A UID component may not start with 0: keep a leading digit non-zero.
  let text = String(n).padStart(digits.length, '0');
  if (from === at && text[0] === '0') text = '1' + text.slice(1);
  buf.write(text, from, 'latin1');
}

function digitRunEnd(buf, at) {
  let end = at;
  while (end < buf.length && buf[end] >= 0x30 && buf[end] <= 0x39) end++;
  return end;
}

/** A copy of a template file with UIDs and patient IDs of copy `copy`. */
function derive(bytes, copy) {
  const out = Buffer.from(bytes);
  for (
    let at = out.indexOf(UID_ROOT);
    at >= 0;
    at = out.indexOf(UID_ROOT, at + 1)
  ) {
    const start = at + UID_ROOT.length;
    const end = digitRunEnd(out, start);
    if (end - start >= 12) shiftDigits(out, start, end, copy, 9);
  }
  for (let at = out.indexOf(MRN); at >= 0; at = out.indexOf(MRN, at + 1)) {
    const start = at + MRN.length;
    const end = digitRunEnd(out, start);
    if (end - start >= 5) shiftDigits(out, start, end, copy, 5);
  }
  return out;
}

function writeChunk(dir, files, firstCopy) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (let copy = firstCopy; n < perChunk; copy++) {
    const sub = join(dir, `c${copy}`);
    mkdirSync(sub);
    for (const bytes of files) {
      if (n >= perChunk) break;
      writeFileSync(join(sub, `${n++}.dcm`), derive(bytes, copy));
    }
  }
  return Math.ceil(perChunk / files.length);
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
    copy += writeChunk(chunkDir, files, copy);
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
