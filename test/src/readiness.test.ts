import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { CLI, CT, gqlResult, runCli, tempDir, tokenFor } from './helpers';
import { parsePrometheusText } from './prometheusText';

// /readyz and /metrics of a real `lpacs serve` whose lake loses one
// instances Parquet file under it (cut short, as a full disk or a bad
// copy leaves it): /readyz must answer 503 with its reason while every
// cohort query fails, /metrics must count the failed queries, and both
// must come back once the file is put back.

const work = tempDir('readiness');
const lake = join(work.path, 'lake');
let server: ChildProcess | undefined;
let log = '';
let base = '';
let token = '';

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  work.remove();
});

const COHORT =
  '{ cohort(filter: { modality: ["CT"] }) { counts { instances } } }';

/** The one sample of `name` with these labels (0 when there is none). */
async function metric(
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  const families = parsePrometheusText(await res.text());
  const samples = [...families.values()]
    .flatMap((f) => f.samples)
    .filter(
      (s) =>
        s.name === name &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  assert.ok(samples.length <= 1, `${name} ${JSON.stringify(labels)}`);
  return samples[0]?.value ?? 0;
}

/** /readyz until it answers `status`, for at most `ms` (its result stands 5 s). */
async function readyzUntil(
  status: number,
  ms = 8000,
): Promise<{ status: number; body: string; waited: number }> {
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${base}/readyz`);
    const body = await res.text();
    if (res.status === status || Date.now() - t0 > ms)
      return { status: res.status, body, waited: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  const ingest = await runCli(['ingest', join(CT, 'P0001'), '--lake', lake]);
  assert.equal(ingest.code, 0, ingest.stderr);
  token = await tokenFor(lake, Role.Admin, 'ada');
  server = spawn(
    process.execPath,
    [CLI, 'serve', '--lake', lake, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    const seen = (d: Buffer) => {
      log += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(log);
      if (m) {
        base = m[1]!;
        resolve();
      }
    };
    server!.stdout!.on('data', seen);
    server!.stderr!.on('data', seen);
    server!.once('exit', (code) => reject(new Error(`exit ${code}: ${log}`)));
  });
});

describe('/readyz and /metrics over a damaged table file', () => {
  it('answers 503 LAKE_UNREADABLE while a Parquet file is cut short, counts each failed query, and 200 once it is back', async () => {
    const ready = await fetch(`${base}/readyz`);
    assert.deepEqual([ready.status, await ready.text()], [200, 'ready\n']);
    // P0001 of the CT corpus: 2 studies x 2 series x 4 slices. (No cohort
    // query yet: the first one builds the series rollup in memory, which
    // later counts would read instead of the damaged file.)
    assert.equal(await metric('lpacs_lake_instances'), 16);
    assert.equal(await metric('lpacs_lake_ready'), 1);

    // One batch file of the instances table, cut to its first 100 bytes.
    const dir = join(lake, 'tables', 'instances');
    const batch = readdirSync(dir).find((d) => d.startsWith('batch='))!;
    const file = join(
      dir,
      batch,
      readdirSync(join(dir, batch)).find((f) => f.endsWith('.parquet'))!,
    );
    const saved = readFileSync(file);
    truncateSync(file, 100);

    const down = await readyzUntil(503);
    assert.equal(down.status, 503, down.body);
    assert.equal(
      down.body,
      'not ready: LAKE_UNREADABLE: the instances table cannot be read (the server log names the file)\n',
    );
    assert.ok(down.waited < 6000, `503 after ${down.waited} ms`);
    assert.equal(await metric('lpacs_lake_ready'), 0);
    // The server log names the file (the body of /readyz, which needs no
    // sign-in, does not).
    assert.ok(log.includes(`${batch}/`), log);
    assert.match(log, /readiness: a table of the lake cannot be read/);

    const before = await metric('lpacs_graphql_errors_total', {
      code: 'INTERNAL_SERVER_ERROR',
    });
    const sent = 3;
    let failed = 0;
    for (let i = 0; i < sent; i++) {
      const r = await gqlResult(`${base}/graphql`, token, COHORT);
      failed += (r.errors ?? []).filter(
        (e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR',
      ).length;
    }
    assert.equal(failed, sent, 'each query answered one internal error');
    const invalid = await gqlResult(`${base}/graphql`, token, '{ nosuch }');
    assert.equal(
      invalid.errors?.[0]?.extensions?.code,
      'GRAPHQL_VALIDATION_FAILED',
    );
    assert.equal(
      (await metric('lpacs_graphql_errors_total', {
        code: 'INTERNAL_SERVER_ERROR',
      })) - before,
      sent,
    );
    assert.equal(
      await metric('lpacs_graphql_errors_total', {
        code: 'GRAPHQL_VALIDATION_FAILED',
      }),
      1,
    );

    writeFileSync(file, saved);
    const up = await readyzUntil(200);
    assert.deepEqual([up.status, up.body], [200, 'ready\n']);
    assert.ok(up.waited < 6000, `200 after ${up.waited} ms`);
    assert.equal(await metric('lpacs_lake_ready'), 1);
    const back = await gqlResult<{
      cohort: { counts: { instances: number } };
    }>(`${base}/graphql`, token, COHORT);
    assert.equal(back.data?.cohort.counts.instances, 16);
  });
});
