#!/usr/bin/env node
// Benchmarks `lpacs backup` and `lpacs restore` on a lake of 10 000 CT
// instances, beside the floor of copying the same lake directory with
// `cp -r` and with `tar`, in the same run. Every contestant is followed by
// `sync -f` inside its timing (a backup is only a backup once it is on
// disk), and preceded by an untimed `sync` so none pays for another's
// writeback.
//
// Usage: node bench/ops.mjs [--corpus DIR] [--runs K] [--work DIR] [--s3] [--json]
//
// --s3 adds backup and restore through S3 (s3rver on 127.0.0.1, started
// here) beside botocore putting and getting the same files one by one
// (python3-botocore: a plain S3 client as the peer). s3rver keeps buckets
// on the same disk, so these figures say what the S3 path costs over the
// directory path, not what a real object store would do.
//
// The corpus (datasets/cache/ops-10k by default) is generated when missing:
// node datasets/generate-ct.mjs --out DIR --patients 10 --studies 2
//   --series 5 --slices 100 --size 64
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const cli = join(repo, 'packages', 'cli', 'dist', 'bin.js');

const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    runs: { type: 'string', default: '3' },
    work: { type: 'string' },
    json: { type: 'boolean', default: false },
    s3: { type: 'boolean', default: false },
  },
});
const corpus = resolve(
  values.corpus ?? join(repo, 'datasets', 'cache', 'ops-10k'),
);
const runs = Number(values.runs);
const work = mkdtempSync(join(values.work ?? tmpdir(), 'lpacs-bench-ops-'));

function log(line) {
  if (!values.json) process.stderr.write(`${line}\n`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Wall seconds of `step` followed by `sync -f` of `dir`. */
function timed(step, dir) {
  sh('sync', []);
  const t = process.hrtime.bigint();
  const out = step();
  sh('sync', ['-f', dir]);
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, out };
}

function bytesUnder(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (!existsSync(join(corpus, 'truth.json'))) {
  log(`== generating ${corpus}`);
  sh(process.execPath, [
    join(repo, 'datasets', 'generate-ct.mjs'),
    '--out',
    corpus,
    '--patients',
    '10',
    '--studies',
    '2',
    '--series',
    '5',
    '--slices',
    '100',
    '--size',
    '64',
  ]);
}

const lake = join(work, 'lake');
log(`== ingesting ${corpus} into ${lake}`);
const ingest = JSON.parse(
  sh(process.execPath, [cli, 'ingest', corpus, '--lake', lake, '--json']),
);
const lakeBytes = bytesUnder(lake);
log(
  `   ${ingest.ingested} instances, ${(lakeBytes / 1e6).toFixed(1)} MB of lake in ${ingest.seconds.toFixed(1)} s`,
);

/** botocore moving every file of a lake to or from a bucket, one by one. */
const BOTO = `
import json, os, sys
import botocore.session
op, bucket, root = sys.argv[1:4]
s3 = botocore.session.get_session().create_client('s3',
    endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1')
if op == 'put':
    s3.create_bucket(Bucket=bucket)
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, 'rb') as f:
                s3.put_object(Bucket=bucket, Key=os.path.relpath(p, root), Body=f)
else:
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        for o in page.get('Contents', []):
            p = os.path.join(root, o['Key'])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'wb') as f:
                f.write(s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read())
`;

let peer;
if (values.s3) {
  const { startS3Peer } = await import(
    join(repo, 'packages', 'lake', 'dist', 'index.js')
  );
  peer = await startS3Peer(join(work, 's3'));
  log(`== s3rver at ${peer.endpoint}`);
}
const s3env = () => ({ env: { ...process.env, ...peer.env } });

const results = {
  'lpacs backup': [],
  'cp -r (backup)': [],
  'tar -cf (backup)': [],
  'lpacs restore': [],
  'cp -r (restore)': [],
  'tar -xf (restore)': [],
  ...(values.s3
    ? {
        'lpacs backup (s3)': [],
        'botocore put (s3)': [],
        'lpacs restore (s3)': [],
        'botocore get (s3)': [],
      }
    : {}),
};
for (let i = 0; i < runs; i++) {
  const dir = join(work, `run${i}`);
  sh('mkdir', ['-p', dir]);
  const backup = join(dir, 'backup');
  const b = timed(
    () =>
      JSON.parse(
        sh(process.execPath, [cli, 'backup', backup, '--lake', lake, '--json']),
      ),
    dir,
  );
  results['lpacs backup'].push({ seconds: b.seconds, bytes: b.out.bytes });
  const cpDir = join(dir, 'cp');
  const c = timed(() => sh('cp', ['-r', lake, cpDir]), dir);
  results['cp -r (backup)'].push({ seconds: c.seconds, bytes: lakeBytes });
  const tarFile = join(dir, 'lake.tar');
  const t = timed(() => sh('tar', ['-cf', tarFile, '-C', lake, '.']), dir);
  results['tar -cf (backup)'].push({ seconds: t.seconds, bytes: lakeBytes });

  const restored = join(dir, 'restored');
  const r = timed(
    () =>
      JSON.parse(
        sh(process.execPath, [
          cli,
          'restore',
          backup,
          '--lake',
          restored,
          '--json',
        ]),
      ),
    dir,
  );
  results['lpacs restore'].push({ seconds: r.seconds, bytes: r.out.bytes });
  const cpBack = join(dir, 'cp-restored');
  const cr = timed(() => sh('cp', ['-r', cpDir, cpBack]), dir);
  results['cp -r (restore)'].push({ seconds: cr.seconds, bytes: lakeBytes });
  const tarBack = join(dir, 'tar-restored');
  sh('mkdir', ['-p', tarBack]);
  const tr = timed(() => sh('tar', ['-xf', tarFile, '-C', tarBack]), dir);
  results['tar -xf (restore)'].push({ seconds: tr.seconds, bytes: lakeBytes });
  // The restored lake answers with every instance.
  const status = JSON.parse(
    sh(process.execPath, [cli, 'status', '--lake', restored, '--json']),
  );
  if (Number(status.instances) !== ingest.ingested)
    throw new Error(
      `restored lake holds ${status.instances} instances, expected ${ingest.ingested}`,
    );
  if (values.s3) {
    const url = `s3://lpacs-bench-${i}/lake`;
    const s3restored = join(dir, 's3-restored');
    // name -> [command, args, folder to sync, bytes from its output?]
    const steps = [
      [
        'lpacs backup (s3)',
        process.execPath,
        [cli, 'backup', url, '--lake', lake, '--json'],
        work,
        true,
      ],
      [
        'botocore put (s3)',
        '/usr/bin/python3',
        ['-c', BOTO, 'put', `boto-${i}`, lake],
        work,
        false,
      ],
      [
        'lpacs restore (s3)',
        process.execPath,
        [cli, 'restore', url, '--lake', s3restored, '--json'],
        dir,
        true,
      ],
      [
        'botocore get (s3)',
        '/usr/bin/python3',
        ['-c', BOTO, 'get', `boto-${i}`, join(dir, 'boto-restored')],
        dir,
        false,
      ],
    ];
    for (const [name, cmd, args, syncDir, reports] of steps) {
      const t = timed(() => sh(cmd, args, s3env()), syncDir);
      results[name].push({
        seconds: t.seconds,
        bytes: reports ? JSON.parse(t.out).bytes : lakeBytes,
      });
    }
    const s3status = JSON.parse(
      sh(process.execPath, [cli, 'status', '--lake', s3restored, '--json']),
    );
    if (Number(s3status.instances) !== ingest.ingested)
      throw new Error(
        `lake restored from S3 holds ${s3status.instances} instances, expected ${ingest.ingested}`,
      );
  }
  rmSync(dir, { recursive: true, force: true });
  log(`   run ${i + 1}/${runs} done`);
}
await peer?.stop();
rmSync(work, { recursive: true, force: true });

const summary = Object.fromEntries(
  Object.entries(results).map(([name, rs]) => {
    const seconds = median(rs.map((r) => r.seconds));
    const bytes = rs[0].bytes;
    return [name, { seconds, bytes, mbPerSecond: bytes / 1e6 / seconds }];
  }),
);
const ratio = (a, b) => summary[a].mbPerSecond / summary[b].mbPerSecond;
const ratios = {
  'backup lpacs/cp': ratio('lpacs backup', 'cp -r (backup)'),
  'backup lpacs/tar': ratio('lpacs backup', 'tar -cf (backup)'),
  'restore lpacs/cp': ratio('lpacs restore', 'cp -r (restore)'),
  'restore lpacs/tar': ratio('lpacs restore', 'tar -xf (restore)'),
  ...(values.s3
    ? {
        'S3 backup lpacs/botocore': ratio(
          'lpacs backup (s3)',
          'botocore put (s3)',
        ),
        'S3 restore lpacs/botocore': ratio(
          'lpacs restore (s3)',
          'botocore get (s3)',
        ),
      }
    : {}),
};
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ instances: ingest.ingested, lakeBytes, runs, summary, ratios }, null, 2)}\n`,
  );
} else {
  const rows = Object.entries(summary).map(
    ([name, s]) =>
      `| ${name.padEnd(18)} | ${s.seconds.toFixed(2).padStart(6)} | ${(s.bytes / 1e6).toFixed(1).padStart(6)} | ${s.mbPerSecond.toFixed(1).padStart(6)} |`,
  );
  process.stdout.write(
    [
      `${ingest.ingested} instances, lake ${(lakeBytes / 1e6).toFixed(1)} MB, median of ${runs} runs, each followed by sync -f`,
      '',
      '| contestant         | wall s |     MB |   MB/s |',
      '| ------------------ | ------ | ------ | ------ |',
      ...rows,
      '',
      ...Object.entries(ratios).map(([k, v]) => `${k} (MB/s): ${v.toFixed(2)}`),
      '',
    ].join('\n'),
  );
}
