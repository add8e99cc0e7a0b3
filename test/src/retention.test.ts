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
      [[], 'give --older-than-days N or --before ISO-INSTANT'],
      [
        ['--older-than-days', '0', '--reason', 'x'],
        '--older-than-days must be a whole number of days, 1 or more, got "0"',
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
