import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  readFileSync,
  readdirSync,
  readlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LinkageReader } from '@lpacs/api';
import { SharingStore } from '@lpacs/sharing';
import type { FrozenInstance } from '@lpacs/sharing';
import {
  CLI,
  erasePatient,
  filesUnder,
  parquetRows,
  REPO,
  runCli,
  tempDir,
} from './helpers';

// Finding 2: kill -9 at any moment of an erasure, then the same command
// again, must leave nothing of the patient, and say what it finished.
const work = tempDir('erase-crash');
const input = join(work.path, 'ct');
const reference = join(work.path, 'reference');
let erased = '';
let kept = '';
let cohortId = '';

async function instances(lake: string) {
  return parquetRows(
    `SELECT "SOPInstanceUID" AS uid, "PatientID" AS p, object_key AS k FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
}

/** Starts `lpacs erase` and kills it with SIGKILL once `ready` says so. */
function eraseAndKill(
  lake: string,
  ready: () => boolean,
): Promise<{ how: string; state: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      CLI,
      'erase',
      '--patient',
      erased,
      '--reason',
      'consent withdrawn',
      '--lake',
      lake,
    ]);
    let state: string[] = [];
    const timer = setInterval(() => {
      if (!ready()) return;
      child.kill('SIGKILL');
      clearInterval(timer);
      // What the kill left, noted before anything else runs.
      state = [
        existsSync(join(lake, 'state', 'erasure.json')) ? 'plan' : 'no plan',
        `${objectsOf(lake, erased).length} objects of the patient`,
      ];
    }, 1);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ how: signal ?? `exit ${code}`, state });
    });
  });
}

/** The reference lake's object keys of a patient. */
const keysOf = new Map<string, string[]>();
function objectsOf(lake: string, patient: string): string[] {
  return (keysOf.get(patient) ?? []).filter((k) => existsSync(join(lake, k)));
}

before(async () => {
  const made = spawnSync(
    process.execPath,
    [
      join(REPO, 'datasets', 'generate-ct.mjs'),
      '--out',
      input,
      '--patients',
      '2',
      '--studies',
      '1',
      '--series',
      '2',
      '--slices',
      '60',
      '--size',
      '128',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const run = await runCli(['ingest', input, '--lake', reference, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const rows = await instances(reference);
  for (const r of rows) {
    const p = String(r.p);
    keysOf.set(p, [...(keysOf.get(p) ?? []), String(r.k)]);
  }
  assert.equal(keysOf.size, 2);
  [erased, kept] = [...keysOf.keys()] as [string, string];
  // A saved cohort of both patients, frozen as the lake holds them.
  const frozen = (
    await parquetRows(
      `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes FROM read_parquet('${reference}/tables/instances/*/*.parquet') ORDER BY 1`,
    )
  ).map((r) => ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance);
  cohortId = (
    await new SharingStore(reference).saveCohort(
      {
        name: 'both',
        owner: 'rita',
        filter: '{}',
        lakeVersion: 'test',
        counts: { patients: 2, studies: 2, series: 4, instances: rows.length },
      },
      frozen,
    )
  ).id;
});
after(() => work.remove());

describe('kill -9 during lpacs erase, then the same command again', () => {
  const cases: Array<[string, (lake: string) => () => boolean, string[]?]> = [
    ['a few milliseconds in', () => () => true],
    [
      'just after its plan was written',
      (lake) => () => existsSync(join(lake, 'state', 'erasure.json')),
      ['plan'],
    ],
    [
      // The trial's case: rows gone, objects still there.
      'after the instances table was rewritten',
      (lake) => {
        const link = readlinkSync(join(lake, 'tables', 'instances'));
        return () => readlinkSync(join(lake, 'tables', 'instances')) !== link;
      },
      ['plan', `${120} objects of the patient`],
    ],
    [
      'midway through deleting objects',
      (lake) => () => {
        const left = objectsOf(lake, erased).length;
        return left > 0 && left < 100;
      },
      ['plan'],
    ],
  ];
  for (const [name, killAt, expected] of cases) {
    it(`leaves nothing of the patient when killed ${name}`, async () => {
      const lake = join(work.path, name.replace(/\W+/g, '-'));
      cpSync(reference, lake, { recursive: true, verbatimSymlinks: true });
      const { how, state } = await eraseAndKill(lake, killAt(lake));
      assert.equal(how, 'SIGKILL', 'killed before it finished');
      for (const s of expected ?? [])
        assert.ok(state.includes(s), `${s}: ${state}`);
      const rerun = await erasePatient(lake, erased, { json: true });
      assert.equal(rerun.code, 0, rerun.stderr);
      const report = JSON.parse(rerun.stdout) as {
        resumed: boolean;
        instances: number;
        objects: number;
        objectsAlreadyGone: number;
      };
      // Honest about what it finished: the plan's instances, and which
      // of their objects this run deleted.
      assert.equal(report.resumed, state.includes('plan'));
      assert.equal(report.instances, 120);
      assert.equal(report.objects + report.objectsAlreadyGone, 120);
      assert.equal(
        report.objects,
        Number(/(\d+) objects/.exec(state[1] ?? '')?.[1] ?? 120),
      );
      // Every object file left is one a row names, and each row's is there.
      const rows = await instances(lake);
      assert.deepEqual(new Set(rows.map((r) => String(r.p))), new Set([kept]));
      assert.deepEqual(
        filesUnder(join(lake, 'objects'))
          .map((f) => f.slice(lake.length + 1))
          .sort(),
        rows.map((r) => String(r.k)).sort(),
      );
      assert.equal(new LinkageReader(lake).lookup(erased), undefined);
      assert.ok(new LinkageReader(lake).lookup(kept));
      const cohort = await new SharingStore(lake).cohortInstances(cohortId);
      assert.deepEqual(
        cohort.map((i) => i.SOPInstanceUID).sort(),
        rows.map((r) => String(r.uid)).sort(),
      );
      const tombstones = JSON.parse(
        readFileSync(join(lake, 'state', 'erased-patients.json'), 'utf8'),
      ) as { patients: Record<string, unknown> };
      assert.deepEqual(Object.keys(tombstones.patients), [erased]);
      assert.equal(existsSync(join(lake, 'state', 'erasure.json')), false);
      assert.deepEqual(readdirSync(join(lake, 'journal')), []);
    });
  }

  it('refuses to ingest into a lake whose erasure was interrupted, and names the command that finishes it', async () => {
    const lake = join(work.path, 'pending');
    cpSync(reference, lake, { recursive: true, verbatimSymlinks: true });
    const { how, state } = await eraseAndKill(lake, () =>
      existsSync(join(lake, 'state', 'erasure.json')),
    );
    assert.equal(how, 'SIGKILL');
    assert.ok(state.includes('plan'));
    const status = await runCli(['status', '--lake', lake]);
    assert.match(
      status.stdout,
      /erasure {5}UNFINISHED: erase\.patient begun \S+ was interrupted; finish it with lpacs erase resume --lake /,
    );
    const ingest = await runCli(['ingest', input, '--lake', lake]);
    assert.notEqual(ingest.code, 0);
    assert.match(
      ingest.stderr,
      /ERASURE_PENDING|an erasure of .* was interrupted/,
    );
    const resume = await runCli(['erase', 'resume', '--lake', lake]);
    assert.equal(resume.code, 0, resume.stderr);
    assert.match(
      resume.stdout,
      /^finished an interrupted erasure \(erase\.patient, begun \S+\): erased 120 instances in 2 series \(/,
    );
    const again = await runCli(['erase', 'resume', '--lake', lake]);
    assert.equal(again.stdout, 'no erasure was left unfinished\n');
  });
});
