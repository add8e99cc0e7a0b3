import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { CLI, CT, runCli, tempDir, tokenFor } from './helpers';

const work = tempDir('reqlog');
const lake = join(work.path, 'lake');
/** A made-up patient name and ID that must never reach the log. */
const PLANTED = 'PLANTEDPHI^ZELDA';
const PLANTED_ID = 'MRN99887766';
let serve: ChildProcessWithoutNullStreams;
let base = '';
let stderr = '';
let token = '';

interface Line {
  msg?: string;
  method?: string;
  route?: string;
  status?: number;
  ms?: number;
  user?: string | null;
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  token = await tokenFor(lake, Role.Researcher, 'rita');
  await tokenFor(lake, Role.Admin, 'ada'); // no first-admin password printed
  serve = spawn(process.execPath, [
    CLI,
    'serve',
    '--lake',
    lake,
    '--port',
    '0',
  ]);
  serve.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out);
      if (m) resolve(m[1]!);
    });
    serve.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
});
after(() => {
  serve?.kill('SIGTERM');
  work.remove();
});

async function get(path: string, auth = true): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    headers: auth ? { authorization: `Bearer ${token}` } : {},
  });
  await res.text();
  return res.status;
}

describe('lpacs serve request log', () => {
  it('logs one JSON line per request with its route template, never a planted identifier', async () => {
    const q = encodeURIComponent(PLANTED);
    const statuses = [
      await get(`/dicomweb/studies?PatientID=${PLANTED_ID}`),
      await get(`/dicomweb/studies?PatientName=${q}`),
      await get(`/dicomweb/studies/${PLANTED_ID}/series`),
      await get(`/dicomweb/studies?PatientID=${PLANTED_ID}`, false),
      await get(
        `/graphql?query=${encodeURIComponent(`{ cohort(filter: {text: "${PLANTED}"}) { counts { instances } } }`)}`,
      ),
    ];
    const post = await fetch(`${base}/graphql?note=${PLANTED_ID}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        query:
          'query ($t: String) { cohort(filter: {text: $t}) { counts { instances } } }',
        variables: { t: PLANTED },
      }),
    });
    await post.text();
    statuses.push(post.status);
    // pino writes each line as it is logged; give the pipe a moment.
    await new Promise((r) => setTimeout(r, 300));
    for (const needle of ['PLANTEDPHI', 'ZELDA', PLANTED_ID])
      assert.ok(!stderr.includes(needle), `the log holds ${needle}`);
    const lines = stderr
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.msg === 'request');
    assert.deepEqual(
      lines.map((l) => [l.method, l.route, l.status, l.user]),
      [
        ['GET', '/dicomweb/studies', 200, 'rita'],
        ['GET', '/dicomweb/studies', statuses[1], 'rita'],
        ['GET', '/dicomweb/studies/{id}/series', statuses[2], 'rita'],
        ['GET', '/dicomweb/studies', 401, null],
        ['GET', '/graphql', statuses[4], 'rita'],
        ['POST', '/graphql', 200, 'rita'],
      ],
    );
    for (const l of lines)
      assert.ok(typeof l.ms === 'number' && l.ms >= 0 && l.ms < 30_000);
  });
});
