import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { SharingStore } from '@lpacs/sharing';
import type { FrozenInstance, SavedCohort } from '@lpacs/sharing';
import {
  CT,
  SAMPLE,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// Retention by date of ingest (the one true date a de-identified lake
// keeps): what came in before an instant goes, what came later stays.
const work = tempDir('retention');
const lake = join(work.path, 'lake');
let cutoff = '';
let cohortId = '';
const ctCount = filesUnder(CT).filter(
  (f) => f.endsWith('.dcm') && dcmdump(f, ['0008,0018'])?.['0008,0018'],
).length;

/** The lake's instances as a saved cohort freezes them, and their counts, by the test's DuckDB. */
async function frozen(): Promise<{
  list: FrozenInstance[];
  counts: Record<string, number>;
}> {
  const from = `read_parquet('${lake}/tables/instances/*/*.parquet')`;
  const list = (
    await parquetRows(
      `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes FROM ${from} ORDER BY 1`,
    )
  ).map((r) => ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance);
  const [c] = await parquetRows(
    `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
       count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances FROM ${from}`,
  );
  const counts = Object.fromEntries(
    Object.entries(c!).map(([k, v]) => [k, Number(v)]),
  );
  return { list, counts };
}

async function instances(): Promise<number> {
  const [r] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return Number(r?.n);
}

before(async () => {
  const first = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(first.code, 0, first.stderr);
  await new Promise((r) => setTimeout(r, 1100)); // ingest times have second precision
  cutoff = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 1100));
  const second = await runCli(['ingest', SAMPLE, '--lake', lake, '--json']);
  assert.equal(second.code, 0, second.stderr);
  // A cohort of everything, saved before the policy is applied.
  const all = await frozen();
  const saved = await new SharingStore(lake).saveCohort(
    {
      name: 'everything',
      owner: 'rita',
      filter: '{}',
      lakeVersion: 'test',
      counts: all.counts as SavedCohort['counts'],
    },
    all.list,
  );
  cohortId = saved.id;
});
after(() => work.remove());

describe('lpacs retention', () => {
  it('says what it would erase without --apply, and erases nothing', async () => {
    const total = await instances();
    const r = await runCli([
      'retention',
      '--before',
      cutoff,
      '--reason',
      'ten-year policy',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`would erase ${ctCount} instances`));
    assert.equal(await instances(), total);
  });

  it('erases what was ingested before the cutoff, and only that', async () => {
    const total = await instances();
    const r = await runCli([
      'retention',
      '--before',
      cutoff,
      '--reason',
      'ten-year policy',
      '--apply',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      instances: number;
      objects: number;
    };
    assert.equal(report.instances, ctCount);
    assert.equal(report.objects, ctCount);
    assert.equal(await instances(), total - ctCount);
    // What is left is what the sample alone makes, study for study.
    const alone = join(work.path, 'sample-only');
    const a = await runCli(['ingest', SAMPLE, '--lake', alone, '--json']);
    assert.equal(a.code, 0, a.stderr);
    const sizes = (root: string) =>
      parquetRows(
        `SELECT count(*) AS n FROM read_parquet('${root}/tables/instances/*/*.parquet') GROUP BY "StudyInstanceUID"`,
      ).then((rows) => rows.map((r) => Number(r.n)).sort((x, y) => x - y));
    // UIDs are keyed by each lake's own secret: compare study sizes.
    assert.deepEqual(await sizes(lake), await sizes(alone));
    const [entry] = new AuditLog(lake).query({ action: 'retention.apply' });
    assert.equal(entry?.detail?.instances, ctCount);
    assert.equal(entry?.detail?.reason, 'ten-year policy');
    assert.equal(entry?.detail?.cohortsChanged, 1);
  });

  it('takes what it erased out of saved cohorts, recounted from what is left', async () => {
    const left = await frozen();
    const store = new SharingStore(lake);
    assert.deepEqual(
      (await store.cohortInstances(cohortId)).map((i) => i.SOPInstanceUID),
      left.list.map((i) => i.SOPInstanceUID),
    );
    const cohort = store.cohort(cohortId);
    assert.deepEqual(cohort.counts, left.counts);
    assert.equal(cohort.erased?.instances, ctCount);
  });

  it('names a missing cutoff or reason, or a bad one (new-user case: only the usage line)', async () => {
    for (const [args, problem] of [
      [[], 'give --older-than-days N, --before ISO-INSTANT or --cohort ID'],
      [
        ['--older-than-days', '0', '--reason', 'x'],
        '--older-than-days must be a whole number of days from 1 to 100000, got "0"',
      ],
      [
        // Trial: this gave "lpacs: Invalid time value".
        ['--older-than-days', '99999999999', '--reason', 'x'],
        '--older-than-days must be a whole number of days from 1 to 100000, got "99999999999"',
      ],
      [
        ['--before', 'yesterday', '--reason', 'x'],
        '--before must be an ISO date or instant (2024-01-31 or 2024-01-31T12:00:00Z), got "yesterday"',
      ],
      [
        ['--older-than-days', '3'],
        '--reason is required: it is kept in the audit log',
      ],
    ] as const) {
      const r = await runCli(['retention', ...args, '--apply', '--lake', lake]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[0], `lpacs retention: ${problem}`);
      assert.match(r.stderr, /usage: lpacs retention/);
    }
  });
});

// Retention by modality and by project (a saved cohort), on a lake of the
// CT corpus and the sample (MR, CT, XA, OT). Every expected count is
// computed here: modalities and SOP Instance UIDs read from the input
// files with dcmdump, the project's instances from the Parquet files by
// the test's own DuckDB.
describe('lpacs retention by modality and by project', () => {
  const lake2 = join(work.path, 'policies');
  const inputs = [...filesUnder(CT), ...filesUnder(SAMPLE)].filter((f) =>
    f.endsWith('.dcm'),
  );
  const rows = (where = 'true') =>
    parquetRows(
      `SELECT "SOPInstanceUID" AS sop, "Modality" AS m, "PatientID" AS p, object_key AS k
         FROM read_parquet('${lake2}/tables/instances/*/*.parquet') WHERE ${where} ORDER BY 1`,
    );
  const objectsOnDisk = () =>
    new Set(
      filesUnder(join(lake2, 'objects')).map((f) => f.slice(lake2.length + 1)),
    );

  before(async () => {
    const r = await runCli(['ingest', CT, SAMPLE, '--lake', lake2, '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('erases the instances of one modality and nothing else', async () => {
    // Distinct MR SOP Instance UIDs among the inputs (the sample holds
    // one re-encoded twice under one UID).
    const mr = new Set(
      inputs
        .map((f) => dcmdump(f, ['0008,0060', '0008,0018']))
        .filter((d) => d?.['0008,0060'] === 'MR')
        .map((d) => d!['0008,0018']),
    );
    assert.ok(mr.size >= 20, `${mr.size} MR instances`);
    const before = await rows();
    const kept = before.filter((r) => r.m !== 'MR');
    const now = new Date().toISOString();
    const dry = await runCli([
      'retention',
      '--before',
      now,
      '--modality',
      'mr',
      '--reason',
      'MR kept 5 years',
      '--lake',
      lake2,
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^would erase ${mr.size} instances `));
    const r = await runCli([
      'retention',
      '--before',
      now,
      '--modality',
      'MR',
      '--reason',
      'MR kept 5 years',
      '--apply',
      '--lake',
      lake2,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { instances: number }).instances,
      mr.size,
    );
    assert.deepEqual(await rows(), kept);
    const disk = objectsOnDisk();
    for (const row of before)
      assert.equal(disk.has(String(row.k)), row.m !== 'MR', String(row.k));
    const [entry] = new AuditLog(lake2).query({ action: 'retention.apply' });
    assert.equal(entry?.detail?.modalities, 'MR');
    assert.equal(entry?.detail?.instances, mr.size);
  });

  it("erases a project's instances (its saved cohort), and only those", async () => {
    const before = await rows();
    const patient = String(before.find((r) => r.m === 'CT')!.p);
    // The project: one CT patient's instances, frozen as the portal would.
    const list = (
      await parquetRows(
        `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes
           FROM read_parquet('${lake2}/tables/instances/*/*.parquet') WHERE "PatientID" = '${patient}' ORDER BY 1`,
      )
    ).map(
      (r) => ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance,
    );
    assert.ok(list.length > 0 && list.length < before.length);
    const project = await new SharingStore(lake2).saveCohort(
      {
        name: 'trial 17',
        owner: 'rita',
        filter: '{}',
        lakeVersion: 'test',
        counts: { patients: 1, studies: 1, series: 1, instances: list.length },
      },
      list,
    );
    const inProject = new Set(list.map((i) => i.SOPInstanceUID));
    const dry = await runCli([
      'retention',
      '--cohort',
      project.id,
      '--reason',
      'trial 17 ended',
      '--lake',
      lake2,
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      new RegExp(
        `^would erase ${list.length} instances in \\d+ stud(y|ies) of saved cohort ${project.id};`,
      ),
    );
    assert.deepEqual(await rows(), before);
    const r = await runCli([
      'retention',
      '--cohort',
      project.id,
      '--reason',
      'trial 17 ended',
      '--apply',
      '--lake',
      lake2,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { instances: number }).instances,
      list.length,
    );
    assert.deepEqual(
      await rows(),
      before.filter((row) => !inProject.has(String(row.sop))),
    );
    const disk = objectsOnDisk();
    for (const i of list) assert.ok(!disk.has(i.object_key), i.object_key);
    const [entry] = new AuditLog(lake2).query({ action: 'retention.apply' });
    assert.equal(entry?.target, `cohort:${project.id}`);
    assert.equal(entry?.detail?.cohort, project.id);
    assert.equal(entry?.detail?.reason, 'trial 17 ended');
    // The project's cohort is left empty; the policy run again finds nothing.
    assert.deepEqual(
      await new SharingStore(lake2).cohortInstances(project.id),
      [],
    );
    const again = await runCli([
      'retention',
      '--cohort',
      project.id,
      '--reason',
      'trial 17 ended',
      '--lake',
      lake2,
    ]);
    assert.match(again.stdout, /^would erase 0 instances/);
  });

  it('names a cohort the lake does not have', async () => {
    const r = await runCli([
      'retention',
      '--cohort',
      'co_nothere',
      '--reason',
      'x',
      '--apply',
      '--lake',
      lake2,
    ]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^lpacs retention: no saved cohort "co_nothere" in .*; saved cohorts: co_/,
    );
  });
});
