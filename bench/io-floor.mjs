#!/usr/bin/env node
// The floor under lpacs ingest: two worker threads that only read each
// file, hash it (SHA-256) and write it under its hash, as lpacs does with
// its objects, and nothing else. Usage: node bench/io-floor.mjs DIR [THREADS]
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';

function list(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? list(join(dir, e.name)) : [join(dir, e.name)],
  );
}

if (isMainThread) {
  const [dir, threads = '2'] = process.argv.slice(2);
  if (!dir) throw new Error('usage: node bench/io-floor.mjs DIR [THREADS]');
  const files = list(dir).filter((f) => f.endsWith('.dcm'));
  const out = mkdtempSync(join(tmpdir(), 'lpacs-io-floor-'));
  execFileSync('sync');
  const n = Number(threads);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, w) => {
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { files: files.filter((_, i) => i % n === w), out },
      });
      return new Promise((resolve) => worker.once('exit', resolve));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(out, { recursive: true, force: true });
  console.log(
    `${files.length} files, ${n} threads: ${seconds.toFixed(2)} s, ${(files.length / seconds).toFixed(0)} files/s`,
  );
} else {
  const buf = Buffer.allocUnsafe(1 << 22);
  for (const file of workerData.files) {
    const fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    readSync(fd, buf, 0, size, 0);
    closeSync(fd);
    const bytes = buf.subarray(0, size);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const shard = join(workerData.out, sha.slice(0, 2));
    mkdirSync(shard, { recursive: true });
    writeFileSync(join(shard, `${sha}.tmp`), bytes);
    renameSync(join(shard, `${sha}.tmp`), join(shard, `${sha}.dcm`));
  }
}
