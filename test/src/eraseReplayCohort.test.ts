import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SharingStore } from '@lpacs/sharing';
import type { FrozenInstance } from '@lpacs/sharing';
import { CT, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// `lpacs retention --cohort ID --apply` on a live lake, then a restore of
// an older snapshot and `lpacs erase --replay-from LIVE`: the restored
// lake must lose what the retention erased, whether the snapshot holds
// the cohort or not (saved after it). A new-user trial found the second
// case skipped, counted as "erase.study entries name by a hash a study
// not here", with exit 0 and the 32 instances still in the restored lake.

const work = tempDir('erase-replay-cohort');
after(() => work.remove());

/** Every instance row, as one string per row, by the test's DuckDB. */
async function rows(lake: string): Promise<string[]> {
  const r = await parquetRows(
    `SELECT "PatientID" || ' ' || "StudyInstanceUID" || ' ' || "SOPInstanceUID" || ' ' || object_key AS k FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
  return r.map((x) => String(x.k));
}

/** SHA-256 of each object file's bytes, sorted. */
function objectHashes(lake: string): string[] {
  return filesUnder(join(lake, 'objects'))
    .map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'))
    .sort();
}

/** Saves a cohort of the lake's first two patients, frozen from Parquet. */
async function saveProject(lake: string): Promise<{ id: string; n: number }> {
  const all = await parquetRows(
    `SELECT "PatientID" AS p, "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1, 2`,
  );
  const patients = [...new Set(all.map((r) => String(r.p)))].slice(0, 2);
  const list = all
    .filter((r) => patients.includes(String(r.p)))
    .map(
      ({ p: _p, ...r }) =>
        ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance,
    );
  const saved = await new SharingStore(lake).saveCohort(
    {
      name: 'trial 17',
      owner: 'rita',
      filter: '{}',
      lakeVersion: 'test',
      counts: { patients: 2, studies: 0, series: 0, instances: list.length },
    },
    list,
  );
  return { id: saved.id, n: list.length };
}

/** A live lake of the CT corpus, its backup, a retention of a project. */
async function scenario(
  name: string,
  cohortAfterSnapshot: boolean,
): Promise<{ live: string; backups: string; cohort: string; n: number }> {
  const live = join(work.path, name, 'live');
  const backups = join(work.path, name, 'backups');
  const ingest = await runCli(['ingest', CT, '--lake', live]);
  assert.equal(ingest.code, 0, ingest.stderr);
  let project = cohortAfterSnapshot ? undefined : await saveProject(live);
  const b = await runCli(['backup', backups, '--lake', live]);
  assert.equal(b.code, 0, b.stderr);
  project ??= await saveProject(live);
  const ret = await runCli([
    ...['retention', '--cohort', project.id, '--reason', 'trial 17 ended'],
    ...['--apply', '--lake', live],
  ]);
  assert.equal(ret.code, 0, ret.stderr);
  assert.match(ret.stdout, new RegExp(`^erased ${project.n} instances `));
  return { live, backups, cohort: project.id, n: project.n };
}

async function restore(backups: string, to: string): Promise<void> {
  const r = await runCli(['restore', backups, '--lake', to]);
  assert.equal(r.code, 0, r.stderr);
}

describe('erase --replay-from reruns a retention by cohort', () => {
  for (const after of [false, true])
    it(`with the cohort saved ${after ? 'after' : 'before'} the snapshot`, async () => {
      const s = await scenario(after ? 'after' : 'before', after);
      const restored = join(work.path, after ? 'after' : 'before', 'restored');
      await restore(s.backups, restored);
      const all = filesUnder(CT).filter((f) => f.endsWith('.dcm')).length;
      assert.equal((await rows(restored)).length, all);
      assert.equal((await rows(s.live)).length, all - s.n);
      const run = await runCli([
        ...['erase', '--replay-from', s.live, '--lake', restored],
      ]);
      assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
      assert.match(
        run.stdout,
        new RegExp(
          `^retention\\.apply cohort:${s.cohort}: erased ${s.n} instances `,
          'm',
        ),
      );
      assert.match(
        run.stdout,
        /replayed 1 erasure of .*: 1 erased data here, 0 found nothing left; 0 tombstones copied\n$/,
      );
      assert.deepEqual(await rows(restored), await rows(s.live));
      assert.deepEqual(objectHashes(restored), objectHashes(s.live));
    });

  it('fails, saying what and why, when it cannot know the instances', async () => {
    // The live lake of the "after" case without its record of the list
    // (lost, or never written by an older lpacs).
    const live = join(work.path, 'after', 'live');
    const backups = join(work.path, 'after', 'backups');
    rmSync(join(live, 'state', 'retentions'), { recursive: true });
    const restored = join(work.path, 'after', 'restored-again');
    await restore(backups, restored);
    const before = await rows(restored);
    const run = await runCli([
      ...['erase', '--replay-from', live, '--lake', restored],
    ]);
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stderr,
      /^lpacs erase: not replayed: retention\.apply cohort:co_\w+ \(audit entry \d+ of .*\): the list of instances it took from saved cohort co_\w+ \(state\/retentions\/co_[\w-]+\.json\) is not in .*, and this lake has no copy of the cohort$/m,
    );
    assert.doesNotMatch(run.stdout, /erase\.study/);
    assert.match(run.stdout, /; 1 not replayed \(said above\)/);
    assert.deepEqual(await rows(restored), before);
  });
});

// A snapshot taken before `lpacs keys rotate` opens only with the old KEK;
// erase --replay-from reads the live lake and the restored one with one
// KEK. Each KEK_WRONG must say whose key failed.
describe('KEK_WRONG names the lake or snapshot whose key failed', () => {
  it('in restore and in erase --replay-from after a rotation', async () => {
    const dir = join(work.path, 'kek');
    const live = join(dir, 'live');
    const backups = join(dir, 'backups');
    const oldKek = join(work.path, 'old.kek');
    const newKek = join(work.path, 'new.kek');
    writeFileSync(oldKek, randomBytes(32).toString('hex'));
    writeFileSync(newKek, randomBytes(32).toString('hex'));
    const as = (file: string) => ({ LPACS_KEK_FILE: file, LPACS_KEK: '' });
    const init = await runCli(
      ['init', '--lake', live, '--encrypt'],
      as(oldKek),
    );
    assert.equal(init.code, 0, init.stderr);
    const ingest = await runCli(
      ['ingest', join(CT, 'P0001'), '--lake', live],
      as(oldKek),
    );
    assert.equal(ingest.code, 0, ingest.stderr);
    const b = await runCli(['backup', backups, '--lake', live], as(oldKek));
    assert.equal(b.code, 0, b.stderr);
    const rotate = await runCli(
      ['keys', 'rotate', '--lake', live, '--new-kek-file', newKek],
      as(oldKek),
    );
    assert.equal(rotate.code, 0, rotate.stderr);

    const restored = join(dir, 'restored');
    const refused = await runCli(
      ['restore', backups, '--lake', restored],
      as(newKek),
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^lpacs: KEK_WRONG: snapshot \(the newest\) of \S+backups: the key-encryption key from key file \S+new\.kek does not open .*; a snapshot opens only with the KEK the lake had when it was taken: one taken before a keys rotate needs the KEK in use then/,
    );
    const ok = await runCli(
      ['restore', backups, '--lake', restored],
      as(oldKek),
    );
    assert.equal(ok.code, 0, ok.stderr);

    // With the live lake's KEK, the restored lake's fails; with the
    // restored lake's, the live lake's does.
    const replay = (kek: string) =>
      runCli(['erase', '--replay-from', live, '--lake', restored], as(kek));
    const withNew = await replay(newKek);
    assert.equal(withNew.code, 1);
    assert.match(
      withNew.stderr,
      /^lpacs: KEK_WRONG: the restored lake \S+restored \(--lake\): .*a snapshot from before a keys rotate of the live lake needs the KEK in use then/,
    );
    const withOld = await replay(oldKek);
    assert.equal(withOld.code, 1);
    assert.match(
      withOld.stderr,
      /^lpacs: KEK_WRONG: the live lake \S+live \(--replay-from\): /,
    );
  });
});
