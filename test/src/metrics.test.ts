import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import {
  CLI,
  CT,
  containsWord,
  filesUnder,
  phiNeedles,
  runCli,
  startUntil,
  tempDir,
  tokenFor,
} from './helpers';
import { parsePrometheusText } from './prometheusText';
import type { Family } from './prometheusText';

// /metrics of `lpacs serve`, every gauge and histogram the monitoring
// clause names checked against a value this test computes on its own:
// files it sent, requests it made, files on disk, df(1), the clock around
// the backup, a spool it planted. The text is read by a strict parser of
// the exposition format (prometheusText.ts) and by the Python client
// library's parser (Debian's python3-prometheus-client).

const work = tempDir('metrics');
after(() => work.remove());
const lake = join(work.path, 'lake');
const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const held = ctFiles.filter((f) => f.includes('/P0003/'));
const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8')) as {
  phiStrings: string[];
  patients: Array<{ patientBirthDate: string }>;
};
let serve: { out: string; stop: () => Promise<void> } | undefined;
let base = '';
let token = '';
let startedAt = 0;
let backupAt = 0;
let neverBackedUp: Map<string, Family> = new Map();
const SPOOLED = 3;
after(async () => serve?.stop());

/** A pid no process has: one that ran and was reaped. */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await once(p, 'exit');
  return p.pid!;
}

async function scrape(): Promise<{
  text: string;
  families: Map<string, Family>;
}> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get('content-type') ?? '',
    /^text\/plain; version=0\.0\.4/,
  );
  const text = await res.text();
  return { text, families: parsePrometheusText(text) };
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = [...families.values()].find((f) =>
    f.samples.some((s) => s.name === name),
  );
  const found = family?.samples.filter(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(
    found?.length,
    1,
    `one sample of ${name} ${JSON.stringify(labels)}`,
  );
  return found[0]!.value;
}

before(async () => {
  // The lake holds P0001 and P0002; P0003 comes later through STOW-RS.
  const ingest = await runCli([
    'ingest',
    join(CT, 'P0001'),
    join(CT, 'P0002'),
    '--lake',
    lake,
    '--json',
  ]);
  assert.equal(ingest.code, 0, ingest.stderr);
  // The spool a killed C-STORE server leaves (packages/dimse Spool):
  // answered instances no batch committed.
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
  const dir = join(lake, 'spool', `scp-${await deadPid()}-0badf00d@${host}`);
  mkdirSync(dir, { recursive: true });
  const ae = Buffer.from('MOD').toString('hex');
  for (let i = 0; i < SPOOLED; i++)
    copyFileSync(held[i]!, join(dir, `0123456789ab-${i + 1}-${ae}.dcm`));
  token = await tokenFor(lake, Role.Admin, 'ada');
  startedAt = Date.now();
  serve = await startUntil(
    process.execPath,
    [CLI, 'serve', '--lake', lake, '--port', '0'],
    (o) => /serving lake .* at http:\/\/127\.0\.0\.1:\d+\/graphql/.test(o),
  );
  base = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(serve.out)![1]!;
  // Scraped before the lake's first backup, then backed up while serving.
  neverBackedUp = (await scrape()).families;
  const t0 = Date.now();
  const backup = await runCli([
    'backup',
    join(work.path, 'bk'),
    '--lake',
    lake,
  ]);
  assert.equal(backup.code, 0, backup.stderr);
  backupAt = (t0 + Date.now()) / 2;
});

describe('/metrics of lpacs serve', () => {
  let stowSeconds = 0;
  let graphqlRequests = 0;

  it('counts files, errors, rate and the queues of ingest through the server', async () => {
    // P0003 by STOW-RS, and one part that is not DICOM (quarantined).
    const boundary = 'metricsboundary';
    const parts = [
      ...held.map((f) => readFileSync(f)),
      Buffer.from('not a DICOM file'),
    ];
    const t0 = Date.now();
    const stow = await fetch(`${base}/dicomweb/studies`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      },
      body: Buffer.concat([
        ...parts.flatMap((b) => [
          Buffer.from(
            `--${boundary}\r\ncontent-type: application/dicom\r\n\r\n`,
          ),
          b,
          Buffer.from('\r\n'),
        ]),
        Buffer.from(`--${boundary}--\r\n`),
      ]),
    });
    stowSeconds = (Date.now() - t0) / 1000;
    assert.ok(stow.status === 200 || stow.status === 202, String(stow.status));
    const { families } = await scrape();
    assert.equal(value(families, 'lpacs_ingest_files_seen'), parts.length);
    assert.equal(value(families, 'lpacs_ingest_files_quarantined'), 1);
    assert.equal(value(families, 'lpacs_ingest_failed_runs'), 0);
    const busy = value(families, 'lpacs_ingest_busy_seconds');
    // The server was busy within the request the test timed.
    assert.ok(busy > 0 && busy <= stowSeconds, `${busy} of ${stowSeconds} s`);
    assert.equal(
      value(families, 'lpacs_ingest_files_per_second'),
      parts.length / busy,
    );
    // Nothing waits: the run ended with the request, no job was started,
    // and the spool holds what the test planted.
    assert.equal(
      value(families, 'lpacs_queue_depth', { queue: 'ingest_runs' }),
      0,
    );
    assert.equal(value(families, 'lpacs_queue_depth', { queue: 'jobs' }), 0);
    assert.equal(
      value(families, 'lpacs_queue_depth', { queue: 'dimse_spool' }),
      SPOOLED,
    );
    assert.equal(value(families, 'lpacs_jobs_running'), 0);
    assert.equal(families.get('lpacs_job_progress_ratio')?.samples.length, 0);
    assert.equal(families.get('lpacs_job_progress_ratio')?.type, 'gauge');
  });

  it('gives the lake, its objects on disk, the disk as df sees it and the last backup', async () => {
    const before = Date.now();
    const { families } = await scrape();
    const afterScrape = Date.now();
    // Every CT file went in: P0001 and P0002 by the CLI, P0003 by STOW-RS.
    assert.equal(value(families, 'lpacs_lake_instances'), ctFiles.length);
    const objectBytes = filesUnder(join(lake, 'objects')).reduce(
      (n, f) => n + statSync(f).size,
      0,
    );
    assert.equal(value(families, 'lpacs_lake_object_bytes'), objectBytes);
    const [size, avail] = execFileSync(
      'df',
      ['-B1', '--output=size,avail', lake],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')[1]!
      .trim()
      .split(/\s+/)
      .map(Number);
    assert.equal(value(families, 'lpacs_disk_total_bytes'), size);
    // Free space moves with every other process's writes: within 1 GiB.
    const free = value(families, 'lpacs_disk_free_bytes');
    assert.ok(Math.abs(free - avail!) < 2 ** 30, `${free} vs df ${avail}`);
    const last = JSON.parse(
      readFileSync(join(lake, 'state', 'last-backup.json'), 'utf8'),
    ) as { at: string };
    const at = Date.parse(last.at);
    // The backup finished while the test ran it.
    assert.ok(Math.abs(at - backupAt) < 60_000);
    assert.equal(
      value(families, 'lpacs_last_backup_timestamp_seconds'),
      at / 1000,
    );
    const age = value(families, 'lpacs_last_backup_age_seconds');
    assert.ok(
      age >= (before - at) / 1000 - 0.001 &&
        age <= (afterScrape - at) / 1000 + 0.001,
      `age ${age}`,
    );
    const uptime = value(families, 'lpacs_uptime_seconds');
    assert.ok(
      uptime > 0 && uptime <= (afterScrape - startedAt) / 1000,
      `${uptime}`,
    );
  });

  it('says a lake never backed up has timestamp 0, so the documented alert fires', () => {
    // The Prometheus convention for "never": 0, the epoch. The age gauge
    // says -1, which an age > N alert would never catch.
    const ts = value(neverBackedUp, 'lpacs_last_backup_timestamp_seconds');
    assert.equal(ts, 0);
    assert.equal(value(neverBackedUp, 'lpacs_last_backup_age_seconds'), -1);
    // docs/ops.md's rule: time() - lpacs_last_backup_timestamp_seconds > 93600.
    assert.ok(Date.now() / 1000 - ts > 93600);
  });

  it('keeps a latency histogram of the queries it answered, every one counted', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ query: '{ cohort { counts { instances } } }' }),
      });
      assert.equal(r.status, 200);
      graphqlRequests++;
    }
    const { families } = await scrape();
    const h = families.get('lpacs_http_request_duration_seconds');
    assert.equal(h?.type, 'histogram');
    const route = { route: '/graphql' };
    assert.equal(
      value(families, 'lpacs_http_request_duration_seconds_count', route),
      graphqlRequests,
    );
    assert.equal(
      value(families, 'lpacs_http_requests_total', { ...route, status: '200' }),
      graphqlRequests,
    );
    assert.equal(
      value(families, 'lpacs_http_request_duration_seconds_bucket', {
        ...route,
        le: '+Inf',
      }),
      graphqlRequests,
    );
    assert.ok(
      value(families, 'lpacs_http_request_duration_seconds_sum', route) > 0,
    );
    // The STOW-RS request is counted under its route, with its status.
    assert.equal(
      value(families, 'lpacs_http_request_duration_seconds_count', {
        route: '/dicomweb',
      }),
      1,
    );
  });

  it('is valid exposition text for the Prometheus client library too, and names no patient', async () => {
    const { text, families } = await scrape();
    const python = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        [
          'import sys, json',
          'from prometheus_client.parser import text_string_to_metric_families',
          'out = {f.name: [f.type, len(f.samples)] for f in text_string_to_metric_families(sys.stdin.read())}',
          'print(json.dumps(out))',
        ].join('\n'),
      ],
      { input: text, encoding: 'utf8' },
    );
    const read = JSON.parse(python) as Record<string, [string, number]>;
    // The library drops the _total of a counter's name.
    const byPython = new Map(
      Object.entries(read).map(([name, [type, n]]) => [
        type === 'counter' ? `${name}_total` : name,
        [type, n],
      ]),
    );
    for (const f of families.values())
      assert.deepEqual(
        byPython.get(f.name),
        [f.type, f.samples.length],
        f.name,
      );
    assert.equal(byPython.size, families.size);
    for (const name of [
      'lpacs_ingest_files_per_second',
      'lpacs_ingest_files_quarantined',
      'lpacs_queue_depth',
      'lpacs_job_progress_ratio',
      'lpacs_http_request_duration_seconds',
      'lpacs_disk_free_bytes',
      'lpacs_last_backup_age_seconds',
    ])
      assert.ok(families.get(name)?.help, `${name} has HELP`);
    for (const needle of phiNeedles(truth))
      assert.ok(!containsWord(text, needle), `${needle} in /metrics`);
  });

  it('answers /healthz and /readyz without a token', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.deepEqual([health.status, await health.text()], [200, 'ok\n']);
    const ready = await fetch(`${base}/readyz`);
    assert.deepEqual([ready.status, await ready.text()], [200, 'ready\n']);
  });
});
