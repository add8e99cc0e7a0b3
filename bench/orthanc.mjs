#!/usr/bin/env node
// lpacs ingest against Orthanc's REST ingest (POST /instances, two client
// threads, as issue #4 sets the comparison) on the same corpus, in one run.
// Orthanc 1.10 (Debian) cannot bind to one address, so it runs inside a
// private network namespace (unshare -n, needs root) whose only interface
// is loopback; this script re-runs itself there.
//
// Usage: node bench/orthanc.mjs DIR [--runs K]
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'packages', 'cli', 'dist', 'bin.js');
const PORT = 8042;

function list(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? list(join(dir, e.name))
      : e.name.endsWith('.dcm')
        ? [join(dir, e.name)]
        : [],
  );
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function orthancRun(files, work) {
  const store = join(work, `store-${Date.now()}`);
  const config = join(work, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'lpacs-bench',
      StorageDirectory: store,
      IndexDirectory: store,
      HttpPort: PORT,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
    }),
  );
  const orthanc = spawn('/usr/sbin/Orthanc', [config], { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${PORT}/system`)).ok) break;
      } catch {
        // starting
      }
      if (i > 100) throw new Error('Orthanc did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const bodies = files.map((f) => readFileSync(f)); // read before timing, like the page cache for lpacs
    execFileSync('sync');
    let next = 0;
    const started = performance.now();
    const client = async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await fetch(`http://127.0.0.1:${PORT}/instances`, {
          method: 'POST',
          body,
        });
        if (!res.ok) throw new Error(`Orthanc answered ${res.status}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all([client(), client()]);
    return (performance.now() - started) / 1000;
  } finally {
    orthanc.kill();
    await new Promise((r) => orthanc.once('exit', r));
    rmSync(store, { recursive: true, force: true });
  }
}

function lpacsRun(dir, work) {
  const lake = join(work, `lake-${Date.now()}`);
  execFileSync('sync');
  const started = performance.now();
  execFileSync(
    process.execPath,
    [CLI, 'ingest', dir, '--lake', lake, '--json'],
    { stdio: 'ignore' },
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(lake, { recursive: true, force: true });
  return seconds;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    inside: { type: 'boolean' },
  },
});
const [dir] = positionals;
if (!dir) throw new Error('usage: node bench/orthanc.mjs DIR [--runs K]');
if (!values.inside) {
  execFileSync(
    'unshare',
    [
      '-n',
      'sh',
      '-c',
      'ip link set lo up && exec "$0" "$@"',
      process.execPath,
      fileURLToPath(import.meta.url),
      dir,
      '--runs',
      values.runs,
      '--inside',
    ],
    { stdio: 'inherit' },
  );
} else {
  const files = list(dir);
  for (const f of files) readFileSync(f); // warm the page cache for both
  const work = mkdtempSync(join(tmpdir(), 'lpacs-bench-orthanc-'));
  try {
    const lp = [];
    const or = [];
    for (let k = 0; k < Number(values.runs); k++) {
      lp.push(lpacsRun(dir, work));
      or.push(await orthancRun(files, work));
    }
    const l = median(lp);
    const o = median(or);
    console.log(
      `corpus ${dir}: ${files.length} files; median of ${values.runs} run(s)`,
    );
    console.log(
      `lpacs ingest (2 workers)             ${l.toFixed(2)} s  ${(files.length / l).toFixed(1)} files/s`,
    );
    console.log(
      `Orthanc POST /instances (2 clients)  ${o.toFixed(2)} s  ${(files.length / o).toFixed(1)} files/s`,
    );
    console.log(`files/s ratio lpacs/Orthanc: ${(o / l).toFixed(2)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
